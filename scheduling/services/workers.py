"""Workers, their working hours, time off, travel buffer and calendar feed secret.

Who may change a worker is decided by :func:`scheduling.selectors.workers_managed_by` alone.
Every change of free time emits ``worker.availability_changed`` in the same transaction; slots
are computed from the tables on each request, so they change at once, and the capacity read
models follow from the event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, time
from itertools import pairwise
from typing import Literal

from django.conf import settings
from django.db import transaction

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .. import events as ev
from .. import selectors
from ..models import TimeOff, Worker, WorkingHours
from .common import DEFAULT_HOURS


def worker_for_owner(*, owner: User) -> Worker:
    """The owner's own worker, created on first use with :data:`DEFAULT_HOURS` in the owner's zone."""
    with transaction.atomic():
        worker, created = Worker.objects.get_or_create(
            owner=owner,
            user=owner,
            defaults={"name": owner.display_name or owner.username, "time_zone": owner.time_zone, "role": Worker.Role.OWNER},
        )
        if created:
            WorkingHours.objects.bulk_create([WorkingHours(worker=worker, weekday=d, start=s, end=e) for d, s, e in DEFAULT_HOURS])
            _availability_changed(worker, "created", actor_id=owner.pk)
    return worker


def business_profile_saved(*, owner: User) -> None:
    """A tradesperson saved their business profile: the owner is a worker from now on, and capacity per
    trade and area is recomputed for every worker (trades or base may have changed)."""
    created = not Worker.objects.filter(owner=owner, user=owner).exists()
    own = worker_for_owner(owner=owner)
    for worker in Worker.objects.filter(owner=owner, active=True):
        if not (created and worker.pk == own.pk):
            _availability_changed(worker, "worker", actor_id=owner.pk)


def _availability_changed(
    worker: Worker,
    change: Literal["created", "hours", "time_off", "worker"],
    *,
    actor_id: int | None,
    span: tuple[datetime, datetime] | None = None,
) -> None:
    """Tell capacity read models that ``worker``'s free time changed (they recompute from the tables)."""
    data: ev.WorkerAvailabilityChangedV1 = {"worker_id": worker.pk, "owner_id": worker.owner_id, "change": change}
    if span is not None:
        data |= {"from": span[0].astimezone(UTC).isoformat(), "to": span[1].astimezone(UTC).isoformat()}
    emit(ev.WORKER_AVAILABILITY_CHANGED, aggregate_id=worker.pk, data=data, actor_id=actor_id)


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _check_owner(worker: Worker, actor: User) -> None:
    if not selectors.may_manage_worker(actor, worker):
        raise ServiceError(
            "Only the business this worker belongs to can change their availability.", code="forbidden", kind=Refusal.FORBIDDEN
        )


def hours_problem(hours: Sequence[tuple[int, time, time]]) -> tuple[str, str] | None:
    """(code, sentence for a person) for the first thing wrong with a week of hours, or None.

    Refused: a weekday outside 0-6, a stretch that does not end after it starts, two stretches
    of one day that overlap (touching is fine: 08:00-12:00 and 12:00-17:00).
    """
    for weekday, start, end in hours:
        if not 0 <= weekday <= 6:
            return "invalid_weekday", "The weekday must be 0 (Monday) to 6 (Sunday)."
        if end <= start:
            return "ends_before_start", f"{DAY_NAMES[weekday]} {start:%H:%M}–{end:%H:%M}: working hours must end after they start."
    ordered = sorted(hours)
    for (day, start, end), (next_day, next_start, next_end) in pairwise(ordered):
        if day == next_day and next_start < end:
            return (
                "hours_overlap",
                f"{DAY_NAMES[day]}: {start:%H:%M}–{end:%H:%M} and {next_start:%H:%M}–{next_end:%H:%M} overlap. "
                "Make one stretch end before the next starts.",
            )
    return None


def worker_set_hours(*, worker: Worker, actor: User, hours: Sequence[tuple[int, time, time]]) -> list[WorkingHours]:
    """Replace the worker's weekly hours with ``hours`` (weekday 0-6, start < end; several per day allowed,
    not overlapping). Emits ``worker.availability_changed`` (``hours``)."""
    _check_owner(worker, actor)
    problem = hours_problem(hours)
    if problem is not None:
        raise ServiceError(problem[1], code=problem[0], kind=Refusal.INVALID)
    with transaction.atomic():
        WorkingHours.objects.filter(worker=worker).delete()
        created = WorkingHours.objects.bulk_create([WorkingHours(worker=worker, weekday=d, start=s, end=e) for d, s, e in hours])
        _availability_changed(worker, "hours", actor_id=actor.pk)
    return created


def time_off_add(*, worker: Worker, actor: User, starts_at: datetime, ends_at: datetime, reason: str = "") -> TimeOff:
    """Block ``[starts_at, ends_at)``; existing appointments are kept (moving them is a reschedule)."""
    _check_owner(worker, actor)
    if ends_at <= starts_at:
        raise ServiceError("Time off must end after it starts.", code="ends_before_start", kind=Refusal.INVALID)
    with transaction.atomic():
        time_off = TimeOff.objects.create(worker=worker, starts_at=starts_at, ends_at=ends_at, reason=reason)
        _availability_changed(worker, "time_off", actor_id=actor.pk, span=(starts_at, ends_at))
    return time_off


def time_off_remove(*, worker: Worker, actor: User, time_off_id: int) -> None:
    """Delete one period of time off; its time becomes bookable again at once. Emits ``worker.availability_changed``."""
    _check_owner(worker, actor)
    with transaction.atomic():
        time_off = TimeOff.objects.select_for_update().filter(pk=time_off_id, worker=worker).first()
        if time_off is None:
            raise ServiceError("That time off has already been removed.", code="not_found", kind=Refusal.NOT_FOUND)
        span = (time_off.starts_at, time_off.ends_at)
        time_off.delete()
        _availability_changed(worker, "time_off", actor_id=actor.pk, span=span)


def worker_set_travel_buffer(*, worker: Worker, actor: User, minutes: int) -> Worker:
    """Set the time kept free after each new appointment (0 to ``AVAILABILITY["MAX_TRAVEL_BUFFER_MINUTES"]``).

    Appointments already booked keep the buffer they were booked with. Emits ``worker.availability_changed``.
    """
    _check_owner(worker, actor)
    limit = settings.AVAILABILITY["MAX_TRAVEL_BUFFER_MINUTES"]
    if not 0 <= minutes <= limit:
        raise ServiceError(f"The travel time must be 0 to {limit} minutes.", code="invalid_buffer", kind=Refusal.INVALID)
    with transaction.atomic():
        Worker.objects.filter(pk=worker.pk).update(travel_buffer_minutes=minutes)
        worker.travel_buffer_minutes = minutes
        _availability_changed(worker, "worker", actor_id=actor.pk)
    return worker


def calendar_feed_rotate(*, worker: Worker, actor: User) -> str:
    """A new secret for the worker's calendar feed; the old URL stops working at once.

    Returns the secret (URL-safe, 256 bits), which is shown once: only its SHA-256 is stored.
    """
    _check_owner(worker, actor)
    token = secrets.token_urlsafe(32)
    Worker.objects.filter(pk=worker.pk).update(calendar_feed_hash=selectors.feed_token_hash(token))
    worker.calendar_feed_hash = selectors.feed_token_hash(token)
    return token


def calendar_feed_revoke(*, worker: Worker, actor: User) -> None:
    """Turn the worker's calendar feed off: its URL answers 404 from now on."""
    _check_owner(worker, actor)
    Worker.objects.filter(pk=worker.pk).update(calendar_feed_hash="")
    worker.calendar_feed_hash = ""
