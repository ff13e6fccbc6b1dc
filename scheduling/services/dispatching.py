"""The dispatch board's writes: move an appointment to another worker or time, book a queued job, set the reserve.

Every call first asks :func:`scheduling.team.dispatch_business` which business ``by`` may run; an
appointment, job or worker of any other business is refused.  Moves and bookings go through
:func:`appointment_reschedule` / :func:`appointment_book` with ``dispatcher=True``: the emergency
reserve does not apply, and overlaps are decided by the database's exclusion constraint alone.  A
clash it refuses is explained in one sentence naming the appointment in the way, in the business's
time zone: "Sam already has a job 10:00-12:00 then (Leaking tap)."
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError

from .. import selectors, slots
from ..models import Appointment, EmergencyReserve, Worker
from ..team import dispatch_business
from .appointments import appointment_book, appointment_reschedule
from .common import SlotUnavailable


def board_business(by: User) -> User:
    """The business whose board ``by`` runs; refuses anyone who runs none (403)."""
    business = dispatch_business(by)
    if business is None:
        raise ServiceError("Only a business's dispatcher can change its board.", code="forbidden", kind=Refusal.FORBIDDEN)
    return business


def _check_worker(business: User, worker: Worker) -> None:
    if worker.owner_id != business.pk:
        raise ServiceError("That worker is not part of your business.", code="forbidden", kind=Refusal.FORBIDDEN)


def _clash(
    exc: SlotUnavailable, *, business: User, worker: Worker, start: datetime, duration: timedelta, ignore: int | None
) -> ServiceError:
    """The exclusion constraint's refusal as a sentence naming what is in the way (the original when nothing is found)."""
    if exc.code != slots.Problem.OVERLAP:
        return exc
    other = selectors.clashing_appointment(worker=worker, starts_at=start, ends_at=start + duration, ignore=ignore)
    if other is None:
        return exc  # it moved away meanwhile; the generic sentence with the next free starts still holds
    zone = ZoneInfo(business.time_zone)
    span = f"{other.starts_at.astimezone(zone):%H:%M}–{other.ends_at.astimezone(zone):%H:%M}"
    message = f"{worker.name} already has a job {span} then ({other.job.title})."
    if not (other.starts_at < start + duration and start < other.ends_at):
        message = message[:-1] + "; there would be no time to travel between them."
    return SlotUnavailable(message, code=exc.code, kind=exc.kind, suggestions=exc.suggestions)


def appointment_reassign(*, by: User, appointment: Appointment, worker: Worker, start: datetime) -> Appointment:
    """Move ``appointment`` to ``worker`` (of the same business) starting at ``start``, from the dispatch board.

    Refuses: someone who runs no board (403), an appointment of another business (404), a worker of
    another business (403), a clash the exclusion constraint finds (409 ``slot_taken``, the sentence names
    it), and whatever rescheduling refuses (hours, time off, past, dependencies).  Emits
    ``appointment.rescheduled`` (with the previous worker and times), so every open board and the
    customer hear of it; a changed time tells the customer as any reschedule does.
    """
    business = board_business(by)
    if not Appointment.objects.filter(pk=appointment.pk, worker__owner=business).exists():
        raise ServiceError("That appointment is not on your board.", code="not_found", kind=Refusal.NOT_FOUND)
    _check_worker(business, worker)
    duration = appointment.ends_at - appointment.starts_at
    try:
        return appointment_reschedule(appointment=appointment, starts_at=start, actor=by, worker=worker, dispatcher=True)
    except SlotUnavailable as exc:
        raise _clash(exc, business=business, worker=worker, start=start, duration=duration, ignore=appointment.pk) from exc


def job_dispatch(*, by: User, job: Job, worker: Worker, start: datetime, duration_minutes: int) -> Appointment:
    """Book a job from the board's unassigned queue with ``worker`` at ``start`` (as :func:`appointment_book`, from the board).

    Refuses as :func:`appointment_reassign` does, a job of another business as 404.  Emits what booking emits.
    """
    business = board_business(by)
    if job.tradesperson_id != business.pk:
        raise ServiceError("That job is not in your queue.", code="not_found", kind=Refusal.NOT_FOUND)
    _check_worker(business, worker)
    try:
        return appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=duration_minutes, actor=by, dispatcher=True)
    except SlotUnavailable as exc:
        raise _clash(exc, business=business, worker=worker, start=start, duration=timedelta(minutes=duration_minutes), ignore=None) from exc


def emergency_reserve_set(*, by: User, minutes: int) -> EmergencyReserve:
    """Keep ``minutes`` (0 to 12 hours) of each worker's working day free from normal bookings. Idempotent."""
    business = board_business(by)
    if not 0 <= minutes <= 12 * 60:
        raise ServiceError("Keep between 0 and 12 hours a day free.", code="invalid_reserve", kind=Refusal.INVALID, field="hours")
    with transaction.atomic():
        reserve, _ = EmergencyReserve.objects.update_or_create(owner=business, defaults={"minutes": minutes})
    return reserve
