"""What every booking change shares: the refusals people read (:class:`SlotUnavailable`), the
locked job, which side the actor is on, the slot check against the worker's calendar, the write
that the database's exclusion constraint has the last word on, and the appointment event data."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import Range

from jobs.models import Job
from jobs.roles import PARTIES, job_role
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError

from .. import selectors, slots
from ..models import Appointment, BookedTime, Reminder, Worker
from ..team import dispatch_business

# Hours a new owner-worker starts with (Monday to Friday, 08:00-18:00 local), so a business can be booked at once.
DEFAULT_HOURS: tuple[tuple[int, time, time], ...] = tuple((day, time(8), time(18)) for day in range(5))

# Reminders before each appointment time (see Reminder); one that would already be due at booking is skipped.
REMINDER_LEADS: dict[str, timedelta] = {Reminder.Kind.DAY_BEFORE: timedelta(hours=24), Reminder.Kind.HOUR_BEFORE: timedelta(hours=1)}
MAX_PROPOSED_STARTS = 5

_EXCLUSION_VIOLATION = "23P01"
_UNIQUE_VIOLATION = "23505"

_MESSAGES = {
    slots.Problem.IN_THE_PAST: "That time has already passed; pick a time in the future.",
    slots.Problem.BAD_DURATION: "The appointment must end after it starts (its duration must be positive).",
    slots.Problem.NONEXISTENT_TIME: "That local time does not exist (the clocks go forward then); pick another time.",
    slots.Problem.OUTSIDE_HOURS: "That time is outside the worker's working hours.",
    slots.Problem.TIME_OFF: "The worker is off at that time.",
    slots.Problem.OVERLAP: "The worker already has an appointment (or is travelling) at that time.",
    slots.Problem.RESERVED: "The rest of that day is kept free for emergencies.",
}
_BAD_INPUT = {slots.Problem.IN_THE_PAST, slots.Problem.BAD_DURATION, slots.Problem.NONEXISTENT_TIME}


class SlotUnavailable(ServiceError):
    """A refused time, with the next free starts (UTC) the client can offer instead."""

    def __init__(self, message: str, *, code: str, kind: Refusal, suggestions: Sequence[datetime] = ()) -> None:
        super().__init__(message, code=code, kind=kind)
        self.suggestions = list(suggestions)


def locked_job(job: Job) -> Job:
    """Lock the job together with its direct prerequisites and dependents, always in id order.

    :func:`dependency_add` locks all of the customer's jobs in the same order, so a booking and a
    change to the dependency graph never interleave, and two bookings never deadlock.
    """
    ids = {job.pk, *selectors.prerequisite_ids(job_id=job.pk), *selectors.dependent_ids(job_id=job.pk)}
    locked = {j.pk: j for j in Job.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return locked[job.pk]


def acting_side(job: Job, actor: User) -> str:
    """'customer' or 'tradesperson' (the awarded one, or a dispatcher of that business); anyone else is refused."""
    role = job_role(actor, job)
    if role in PARTIES:
        return role.value
    business = dispatch_business(actor)
    if business is not None and business.pk == job.tradesperson_id:
        return "tradesperson"  # a dispatcher acts for the business on its schedule
    raise ServiceError("Only the job's customer or the tradesperson doing it can schedule it.", code="forbidden", kind=Refusal.FORBIDDEN)


def check_worker(job: Job, worker: Worker, side: str) -> None:
    if worker.owner_id != job.tradesperson_id:
        if side == "tradesperson":
            raise ServiceError("That worker is not part of your business.", code="forbidden", kind=Refusal.FORBIDDEN)
        raise ServiceError("That worker does not work for the tradesperson doing this job.", code="wrong_worker", kind=Refusal.INVALID)
    if not worker.active:
        raise ServiceError("That worker is not taking appointments.", code="worker_inactive", kind=Refusal.CONFLICT)


def local_time(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _refuse(
    problem: str, *, worker: Worker, duration: timedelta, starts_at: datetime, ignore: Appointment | None = None
) -> SlotUnavailable:
    if problem in _BAD_INPUT:
        return SlotUnavailable(_MESSAGES[problem], code=problem, kind=Refusal.INVALID)
    suggestions = selectors.next_free_slots(worker=worker, duration=duration, after=starts_at, ignore=ignore)
    if not suggestions:
        suggestions = selectors.next_free_slots(worker=worker, duration=duration, after=timezone.now(), ignore=ignore)
    hint = (
        " Next free: " + ", ".join(local_time(s, worker.time_zone) for s in suggestions) + f" ({worker.time_zone})."
        if suggestions
        else " No free time in the next four weeks."
    )
    return SlotUnavailable(_MESSAGES[problem] + hint, code=problem, kind=Refusal.CONFLICT, suggestions=suggestions)


def check_slot(
    *, worker: Worker, starts_at: datetime, duration: timedelta, ignore: Appointment | None = None, dispatcher: bool = False
) -> None:
    """Refuse a start the worker cannot take (with the reason and next free starts).

    ``dispatcher``: the business's dispatch board is placing it, so the emergency reserve does not apply (spending
    it is the dispatcher's call) and overlaps are left to the database's exclusion constraint alone (the caller
    names the clash); hours and time off still apply.
    """
    if starts_at.tzinfo is None:
        raise ServiceError("The start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
    if duration <= timedelta(0):
        raise SlotUnavailable(_MESSAGES[slots.Problem.BAD_DURATION], code=slots.Problem.BAD_DURATION, kind=Refusal.INVALID)
    availability = selectors.worker_availability(worker=worker, start=starts_at, end=starts_at + duration)
    if dispatcher:
        availability = dataclasses.replace(availability, booked=(), reserve=timedelta(0))
    problem = slots.slot_problem(availability, start=starts_at, duration=duration, now=timezone.now(), ignore=ignore.pk if ignore else None)
    if problem is not None:
        raise _refuse(problem, worker=worker, duration=duration, starts_at=starts_at, ignore=ignore)


def during(starts_at: datetime, ends_at: datetime, buffer_minutes: int) -> Range[datetime]:
    return Range(starts_at, ends_at + timedelta(minutes=buffer_minutes), "[)")


def write_appointment(appointment: Appointment, *, duration: timedelta, update_fields: list[str] | None = None) -> None:
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
            raise ServiceError("This job already has a booked appointment.", code="already_scheduled", kind=Refusal.CONFLICT) from exc
        raise


class AppointmentFields(TypedDict):
    """The keys every appointment event carries (each event's TypedDict has these and its own)."""

    job_id: int
    appointment_id: int
    worker_id: int
    tradesperson_id: int
    starts_at: str
    ends_at: str
    time_zone: str


def appointment_data(appointment: Appointment) -> AppointmentFields:
    """What every appointment event carries; the callers add ``by`` (who acted) and their own keys."""
    return AppointmentFields(
        job_id=appointment.job_id,
        appointment_id=appointment.pk,
        worker_id=appointment.worker_id,
        tradesperson_id=appointment.worker.owner_id,
        starts_at=appointment.starts_at.astimezone(UTC).isoformat(),
        ends_at=appointment.ends_at.astimezone(UTC).isoformat(),
        time_zone=appointment.worker.time_zone,
    )


def locked_booked(appointment: Appointment, actor: User) -> tuple[Appointment, Job, str]:
    job = locked_job(appointment.job)
    locked = Appointment.objects.select_for_update(of=("self",)).select_related("worker").get(pk=appointment.pk)
    side = acting_side(job, actor)
    if locked.status != Appointment.Status.BOOKED:
        raise ServiceError("This appointment is no longer booked.", code="not_booked", kind=Refusal.CONFLICT)
    return locked, job, side


def booked_time_start(appointment: Appointment, *, at: datetime) -> None:
    """Record that ``appointment``'s job is now booked for its start (the cancellation policy's history)."""
    BookedTime.objects.create(job_id=appointment.job_id, appointment=appointment, starts_at=appointment.starts_at, booked_at=at)


def booked_time_end(appointment: Appointment, *, side: str, at: datetime) -> None:
    """Record that the booking standing for ``appointment`` ended at ``at`` (moved or cancelled) by ``side``."""
    BookedTime.objects.filter(appointment=appointment, ended_at__isnull=True).update(ended_at=at, ended_by=side)
