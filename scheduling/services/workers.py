"""Workers, their working hours and time off."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Literal

from django.db import transaction

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .. import events as ev
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


def _check_owner(worker: Worker, actor: User) -> None:
    if worker.owner_id != actor.pk:
        raise ServiceError(
            "Only the business this worker belongs to can change their availability.", code="forbidden", kind=Refusal.FORBIDDEN
        )


def worker_set_hours(*, worker: Worker, actor: User, hours: Sequence[tuple[int, time, time]]) -> list[WorkingHours]:
    """Replace the worker's weekly hours with ``hours`` (weekday 0-6, start < end; several per day allowed)."""
    _check_owner(worker, actor)
    for weekday, start, end in hours:
        if not 0 <= weekday <= 6:
            raise ServiceError("The weekday must be 0 (Monday) to 6 (Sunday).", code="invalid_weekday", kind=Refusal.INVALID)
        if end <= start:
            raise ServiceError("Working hours must end after they start.", code="ends_before_start", kind=Refusal.INVALID)
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
