"""Writes for scheduling: workers, their hours, and booking, rescheduling and cancelling appointments.

Every booking change runs in one transaction that also moves the job's status (through
``jobs.services.job_set_status``) and emits an ``appointment.*`` event on the job topic.

The Python check (:func:`scheduling.slots.slot_problem`) gives people a precise reason; the
database's exclusion constraint is the final word on overlaps, so two requests racing for the
same time cannot both win: the loser gets a 409 ``slot_taken`` with the next free slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import Range

from jobs.models import Bid, Job
from jobs.services import job_set_status
from marketplace.accounts.models import User
from marketplace.api_errors import ServiceError
from marketplace.events.outbox import emit

from . import events as ev
from . import selectors, slots
from .models import Appointment, TimeOff, Worker, WorkingHours

# Hours a new owner-worker starts with (Monday to Friday, 08:00-18:00 local), so a business can be booked at once.
DEFAULT_HOURS: tuple[tuple[int, time, time], ...] = tuple((day, time(8), time(18)) for day in range(5))

_EXCLUSION_VIOLATION = "23P01"
_UNIQUE_VIOLATION = "23505"

_MESSAGES = {
    slots.Problem.IN_THE_PAST: "That time has already passed; pick a time in the future.",
    slots.Problem.BAD_DURATION: "The appointment must end after it starts (its duration must be positive).",
    slots.Problem.NONEXISTENT_TIME: "That local time does not exist (the clocks go forward then); pick another time.",
    slots.Problem.OUTSIDE_HOURS: "That time is outside the worker's working hours.",
    slots.Problem.TIME_OFF: "The worker is off at that time.",
    slots.Problem.OVERLAP: "The worker already has an appointment (or is travelling) at that time.",
}
_BAD_INPUT = {slots.Problem.IN_THE_PAST, slots.Problem.BAD_DURATION, slots.Problem.NONEXISTENT_TIME}


class SlotUnavailable(ServiceError):
    """A refused time, with the next free starts (UTC) the client can offer instead."""

    def __init__(self, message: str, *, code: str, status_code: int, suggestions: Sequence[datetime] = ()) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.suggestions = list(suggestions)


# --- workers ----------------------------------------------------------------------------


def worker_for_owner(*, owner: User) -> Worker:
    """The owner's own worker, created on first use with :data:`DEFAULT_HOURS` in the owner's zone."""
    with transaction.atomic():
        worker, created = Worker.objects.get_or_create(
            owner=owner, user=owner, defaults={"name": owner.display_name or owner.username, "time_zone": owner.time_zone}
        )
        if created:
            WorkingHours.objects.bulk_create([WorkingHours(worker=worker, weekday=d, start=s, end=e) for d, s, e in DEFAULT_HOURS])
    return worker


def _check_owner(worker: Worker, actor: User) -> None:
    if worker.owner_id != actor.pk:
        raise ServiceError("Only the business this worker belongs to can change their availability.", code="forbidden", status_code=403)


def worker_set_hours(*, worker: Worker, actor: User, hours: Sequence[tuple[int, time, time]]) -> list[WorkingHours]:
    """Replace the worker's weekly hours with ``hours`` (weekday 0-6, start < end; several per day allowed)."""
    _check_owner(worker, actor)
    for weekday, start, end in hours:
        if not 0 <= weekday <= 6:
            raise ServiceError("The weekday must be 0 (Monday) to 6 (Sunday).", code="invalid_weekday", status_code=400)
        if end <= start:
            raise ServiceError("Working hours must end after they start.", code="ends_before_start", status_code=400)
    with transaction.atomic():
        WorkingHours.objects.filter(worker=worker).delete()
        return WorkingHours.objects.bulk_create([WorkingHours(worker=worker, weekday=d, start=s, end=e) for d, s, e in hours])


def time_off_add(*, worker: Worker, actor: User, starts_at: datetime, ends_at: datetime, reason: str = "") -> TimeOff:
    """Block ``[starts_at, ends_at)``; existing appointments are kept (moving them is a reschedule)."""
    _check_owner(worker, actor)
    if ends_at <= starts_at:
        raise ServiceError("Time off must end after it starts.", code="ends_before_start", status_code=400)
    return TimeOff.objects.create(worker=worker, starts_at=starts_at, ends_at=ends_at, reason=reason)


# --- appointments -----------------------------------------------------------------------


def _locked_job(job: Job) -> Job:
    return Job.objects.select_for_update().get(pk=job.pk)


def _side(job: Job, actor: User) -> str:
    """'customer' or 'tradesperson' (the awarded one); anyone else is refused."""
    if actor.pk == job.customer_id:
        return "customer"
    if job.awarded_bid_id is not None and Bid.objects.filter(pk=job.awarded_bid_id, tradesperson_id=actor.pk).exists():
        return "tradesperson"
    raise ServiceError("Only the job's customer or the tradesperson doing it can schedule it.", code="forbidden", status_code=403)


def _check_worker(job: Job, worker: Worker, side: str) -> None:
    tradesperson_id = Bid.objects.filter(pk=job.awarded_bid_id or 0).values_list("tradesperson_id", flat=True).first()
    if worker.owner_id != tradesperson_id:
        if side == "tradesperson":
            raise ServiceError("That worker is not part of your business.", code="forbidden", status_code=403)
        raise ServiceError("That worker does not work for the tradesperson doing this job.", code="wrong_worker", status_code=400)
    if not worker.active:
        raise ServiceError("That worker is not taking appointments.", code="worker_inactive", status_code=409)


def _format(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _refuse(
    problem: str, *, worker: Worker, duration: timedelta, starts_at: datetime, ignore: Appointment | None = None
) -> SlotUnavailable:
    if problem in _BAD_INPUT:
        return SlotUnavailable(_MESSAGES[problem], code=problem, status_code=400)
    suggestions = selectors.next_free_slots(worker=worker, duration=duration, after=starts_at, ignore=ignore)
    if not suggestions:
        suggestions = selectors.next_free_slots(worker=worker, duration=duration, after=timezone.now(), ignore=ignore)
    hint = (
        " Next free: " + ", ".join(_format(s, worker.time_zone) for s in suggestions) + f" ({worker.time_zone})."
        if suggestions
        else " No free time in the next four weeks."
    )
    return SlotUnavailable(_MESSAGES[problem] + hint, code=problem, status_code=409, suggestions=suggestions)


def _check_slot(*, worker: Worker, starts_at: datetime, duration: timedelta, ignore: Appointment | None = None) -> None:
    if starts_at.tzinfo is None:
        raise ServiceError("The start time needs a time zone.", code="naive_time", status_code=400)
    if duration <= timedelta(0):
        raise SlotUnavailable(_MESSAGES[slots.Problem.BAD_DURATION], code=slots.Problem.BAD_DURATION, status_code=400)
    availability = selectors.worker_availability(worker=worker, start=starts_at, end=starts_at + duration)
    problem = slots.slot_problem(availability, start=starts_at, duration=duration, now=timezone.now(), ignore=ignore.pk if ignore else None)
    if problem is not None:
        raise _refuse(problem, worker=worker, duration=duration, starts_at=starts_at, ignore=ignore)


def _during(starts_at: datetime, ends_at: datetime, buffer_minutes: int) -> Range[datetime]:
    return Range(starts_at, ends_at + timedelta(minutes=buffer_minutes), "[)")


def _write(appointment: Appointment, *, duration: timedelta, update_fields: list[str] | None = None) -> None:
    """Save inside a savepoint; a collision the database refuses becomes a 409 with suggestions."""
    try:
        with transaction.atomic():
            appointment.save(update_fields=update_fields)
    except IntegrityError as exc:
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate == _EXCLUSION_VIOLATION:
            ignore = appointment if appointment.pk else None
            raise _refuse(
                slots.Problem.OVERLAP, worker=appointment.worker, duration=duration, starts_at=appointment.starts_at, ignore=ignore
            ) from exc
        if sqlstate == _UNIQUE_VIOLATION:
            raise ServiceError("This job already has a booked appointment.", code="already_scheduled", status_code=409) from exc
        raise


def _event_data(appointment: Appointment, side: str) -> dict[str, Any]:
    return {
        "job_id": appointment.job_id,
        "appointment_id": appointment.pk,
        "worker_id": appointment.worker_id,
        "tradesperson_id": appointment.worker.owner_id,
        "starts_at": appointment.starts_at.astimezone(UTC).isoformat(),
        "ends_at": appointment.ends_at.astimezone(UTC).isoformat(),
        "time_zone": appointment.worker.time_zone,
        "by": side,
    }


def appointment_book(*, job: Job, worker: Worker, starts_at: datetime, duration_minutes: int, actor: User) -> Appointment:
    """Book the awarded job with ``worker`` at ``starts_at``; the job becomes scheduled.

    Refuses (nothing written): someone other than the customer or the awarded tradesperson
    (403), a worker outside that business, a job that is not awarded (or already scheduled),
    a time in the past, a non-positive duration, a nonexistent local time (400), outside
    working hours, during time off, or overlapping another appointment plus travel (409 with
    ``suggestions``).  Emits ``job.status_changed`` and ``appointment.booked``.
    """
    duration = timedelta(minutes=duration_minutes)
    with transaction.atomic():
        job = _locked_job(job)
        side = _side(job, actor)
        if job.status == Job.Status.SCHEDULED:
            raise ServiceError("This job already has an appointment; reschedule it instead.", code="already_scheduled", status_code=409)
        if job.status != Job.Status.AWARDED:
            raise ServiceError("Only an awarded job can be booked.", code="job_not_awarded", status_code=409)
        _check_worker(job, worker, side)
        _check_slot(worker=worker, starts_at=starts_at, duration=duration)
        starts_at = starts_at.astimezone(UTC)
        ends_at = starts_at + duration
        appointment = Appointment(
            job=job,
            worker=worker,
            starts_at=starts_at,
            ends_at=ends_at,
            travel_buffer_minutes=worker.travel_buffer_minutes,
            during=_during(starts_at, ends_at, worker.travel_buffer_minutes),
            booked_by=actor,
        )
        _write(appointment, duration=duration)
        job_set_status(job=job, status=Job.Status.SCHEDULED, actor=actor)
        emit(ev.APPOINTMENT_BOOKED, aggregate_id=job.pk, data=_event_data(appointment, side), actor_id=actor.pk)
    return appointment


def _locked_booked(appointment: Appointment, actor: User) -> tuple[Appointment, Job, str]:
    job = _locked_job(appointment.job)
    locked = Appointment.objects.select_for_update().select_related("worker").get(pk=appointment.pk)
    side = _side(job, actor)
    if locked.status != Appointment.Status.BOOKED:
        raise ServiceError("This appointment is no longer booked.", code="not_booked", status_code=409)
    return locked, job, side


def appointment_reschedule(
    *, appointment: Appointment, starts_at: datetime, actor: User, duration_minutes: int | None = None, worker: Worker | None = None
) -> Appointment:
    """Move a booked appointment to ``starts_at`` (optionally another duration or worker of the same business).

    Same refusals as :func:`appointment_book`; the appointment's own time does not count as
    taken.  Emits ``appointment.rescheduled`` with the previous times.
    """
    with transaction.atomic():
        appointment, job, side = _locked_booked(appointment, actor)
        target = worker or appointment.worker
        _check_worker(job, target, side)
        duration = timedelta(minutes=duration_minutes) if duration_minutes is not None else appointment.ends_at - appointment.starts_at
        same_worker = target.pk == appointment.worker_id
        _check_slot(worker=target, starts_at=starts_at, duration=duration, ignore=appointment if same_worker else None)
        previous = {
            "previous_worker_id": appointment.worker_id,
            "previous_starts_at": appointment.starts_at.astimezone(UTC).isoformat(),
            "previous_ends_at": appointment.ends_at.astimezone(UTC).isoformat(),
        }
        appointment.worker = target
        appointment.starts_at = starts_at.astimezone(UTC)
        appointment.ends_at = appointment.starts_at + duration
        appointment.travel_buffer_minutes = target.travel_buffer_minutes
        appointment.during = _during(appointment.starts_at, appointment.ends_at, target.travel_buffer_minutes)
        _write(
            appointment,
            duration=duration,
            update_fields=["worker", "starts_at", "ends_at", "travel_buffer_minutes", "during", "updated_at"],
        )
        emit(ev.APPOINTMENT_RESCHEDULED, aggregate_id=job.pk, data=_event_data(appointment, side) | previous, actor_id=actor.pk)
    return appointment


def appointment_cancel(*, appointment: Appointment, actor: User, reason: str = "") -> Appointment:
    """Cancel a booked appointment (either side); the job goes back to awarded and can be booked again.

    Money is not touched here: cancelling the *job* is what the quotes cancellation policy prices.
    Emits ``job.status_changed`` and ``appointment.cancelled``.
    """
    with transaction.atomic():
        appointment, job, side = _locked_booked(appointment, actor)
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = timezone.now()
        appointment.save(update_fields=["status", "cancelled_at", "updated_at"])
        if job.status == Job.Status.SCHEDULED:
            job_set_status(job=job, status=Job.Status.AWARDED, actor=actor)
        data = _event_data(appointment, side) | {"reason": reason[:500]}
        emit(ev.APPOINTMENT_CANCELLED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
    return appointment
