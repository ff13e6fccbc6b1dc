"""Writes for scheduling: workers, their hours, and booking, rescheduling and cancelling appointments.

Every booking change runs in one transaction that also moves the job's status (through
``jobs.services.job_set_status``) and emits an ``appointment.*`` event on the job topic.

The Python check (:func:`scheduling.slots.slot_problem`) gives people a precise reason; the
database's exclusion constraint is the final word on overlaps, so two requests racing for the
same time cannot both win: the loser gets a 409 ``slot_taken`` with the next free slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, TypedDict, cast
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import Range

from jobs.models import Job
from jobs.roles import PARTIES, job_role
from jobs.services import job_set_status
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from . import events as ev
from . import selectors, slots
from .models import Appointment, JobDependency, Reminder, SlotProposal, TimeOff, Worker, WorkingHours

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
}
_BAD_INPUT = {slots.Problem.IN_THE_PAST, slots.Problem.BAD_DURATION, slots.Problem.NONEXISTENT_TIME}


class SlotUnavailable(ServiceError):
    """A refused time, with the next free starts (UTC) the client can offer instead."""

    def __init__(self, message: str, *, code: str, kind: Refusal, suggestions: Sequence[datetime] = ()) -> None:
        super().__init__(message, code=code, kind=kind)
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


# --- appointments -----------------------------------------------------------------------


def _locked_job(job: Job) -> Job:
    """Lock the job together with its direct prerequisites and dependents, always in id order.

    :func:`dependency_add` locks all of the customer's jobs in the same order, so a booking and a
    change to the dependency graph never interleave, and two bookings never deadlock.
    """
    ids = {job.pk, *selectors.prerequisite_ids(job_id=job.pk), *selectors.dependent_ids(job_id=job.pk)}
    locked = {j.pk: j for j in Job.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return locked[job.pk]


def _side(job: Job, actor: User) -> str:
    """'customer' or 'tradesperson' (the awarded one); anyone else is refused."""
    role = job_role(actor, job)
    if role in PARTIES:
        return role.value
    raise ServiceError("Only the job's customer or the tradesperson doing it can schedule it.", code="forbidden", kind=Refusal.FORBIDDEN)


def _check_worker(job: Job, worker: Worker, side: str) -> None:
    if worker.owner_id != job.tradesperson_id:
        if side == "tradesperson":
            raise ServiceError("That worker is not part of your business.", code="forbidden", kind=Refusal.FORBIDDEN)
        raise ServiceError("That worker does not work for the tradesperson doing this job.", code="wrong_worker", kind=Refusal.INVALID)
    if not worker.active:
        raise ServiceError("That worker is not taking appointments.", code="worker_inactive", kind=Refusal.CONFLICT)


def _format(moment: datetime, zone: str) -> str:
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
        " Next free: " + ", ".join(_format(s, worker.time_zone) for s in suggestions) + f" ({worker.time_zone})."
        if suggestions
        else " No free time in the next four weeks."
    )
    return SlotUnavailable(_MESSAGES[problem] + hint, code=problem, kind=Refusal.CONFLICT, suggestions=suggestions)


def _check_slot(*, worker: Worker, starts_at: datetime, duration: timedelta, ignore: Appointment | None = None) -> None:
    if starts_at.tzinfo is None:
        raise ServiceError("The start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
    if duration <= timedelta(0):
        raise SlotUnavailable(_MESSAGES[slots.Problem.BAD_DURATION], code=slots.Problem.BAD_DURATION, kind=Refusal.INVALID)
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
            raise ServiceError("This job already has a booked appointment.", code="already_scheduled", kind=Refusal.CONFLICT) from exc
        raise


class _AppointmentFields(TypedDict):
    """The keys every appointment event carries (each event's TypedDict has these and its own)."""

    job_id: int
    appointment_id: int
    worker_id: int
    tradesperson_id: int
    starts_at: str
    ends_at: str
    time_zone: str


def _event_data(appointment: Appointment) -> _AppointmentFields:
    """What every appointment event carries; the callers add ``by`` (who acted) and their own keys."""
    return _AppointmentFields(
        job_id=appointment.job_id,
        appointment_id=appointment.pk,
        worker_id=appointment.worker_id,
        tradesperson_id=appointment.worker.owner_id,
        starts_at=appointment.starts_at.astimezone(UTC).isoformat(),
        ends_at=appointment.ends_at.astimezone(UTC).isoformat(),
        time_zone=appointment.worker.time_zone,
    )


def appointment_book(*, job: Job, worker: Worker, starts_at: datetime, duration_minutes: int, actor: User) -> Appointment:
    """Book the awarded job with ``worker`` at ``starts_at``; the job becomes scheduled.

    Refuses (nothing written): someone other than the customer or the awarded tradesperson
    (403), a worker outside that business, a job that is not awarded (or already scheduled),
    a time in the past, a non-positive duration, a nonexistent local time (400), outside
    working hours, during time off, or overlapping another appointment plus travel (409 with
    ``suggestions``), before a prerequisite job's appointment ends (409 ``dependency_violation``
    with suggestions after it) or while a prerequisite has no appointment (409
    ``prerequisite_not_scheduled``).  Emits ``job.status_changed`` and ``appointment.booked``,
    and flags or clears dependents (see the dependencies section below).
    """
    duration = timedelta(minutes=duration_minutes)
    with transaction.atomic():
        job = _locked_job(job)
        side = _side(job, actor)
        if job.status == Job.Status.SCHEDULED:
            raise ServiceError(
                "This job already has an appointment; reschedule it instead.", code="already_scheduled", kind=Refusal.CONFLICT
            )
        if job.status != Job.Status.AWARDED:
            raise ServiceError("Only an awarded job can be booked.", code="job_not_awarded", kind=Refusal.CONFLICT)
        _check_worker(job, worker, side)
        _check_prerequisites(job=job, worker=worker, starts_at=starts_at, duration=duration, zone=actor.time_zone)
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
        _plan_reminders(appointment)
        SlotProposal.objects.filter(job=job, status=SlotProposal.Status.OPEN).update(status=SlotProposal.Status.WITHDRAWN)
        job_set_status(job=job, status=Job.Status.SCHEDULED, actor=actor)
        data = ev.AppointmentBookedV1(**_event_data(appointment), by=side)
        emit(ev.APPOINTMENT_BOOKED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
        _review_dependents(job=job, actor=actor)
    return appointment


def _locked_booked(appointment: Appointment, actor: User) -> tuple[Appointment, Job, str]:
    job = _locked_job(appointment.job)
    locked = Appointment.objects.select_for_update(of=("self",)).select_related("worker").get(pk=appointment.pk)
    side = _side(job, actor)
    if locked.status != Appointment.Status.BOOKED:
        raise ServiceError("This appointment is no longer booked.", code="not_booked", kind=Refusal.CONFLICT)
    return locked, job, side


def appointment_reschedule(
    *, appointment: Appointment, starts_at: datetime, actor: User, duration_minutes: int | None = None, worker: Worker | None = None
) -> Appointment:
    """Move a booked appointment to ``starts_at`` (optionally another duration or worker of the same business).

    Same refusals as :func:`appointment_book`; the appointment's own time does not count as
    taken.  Emits ``appointment.rescheduled`` with the previous times; a valid move clears the
    appointment's dependency flag (``appointment.unflagged``), and dependents that no longer fit
    are flagged in the same transaction (``appointment.flagged`` with suggested starts).
    """
    with transaction.atomic():
        appointment, job, side = _locked_booked(appointment, actor)
        target = worker or appointment.worker
        _check_worker(job, target, side)
        duration = timedelta(minutes=duration_minutes) if duration_minutes is not None else appointment.ends_at - appointment.starts_at
        same_worker = target.pk == appointment.worker_id
        _check_prerequisites(job=job, worker=target, starts_at=starts_at, duration=duration, zone=actor.time_zone, ignore=appointment)
        _check_slot(worker=target, starts_at=starts_at, duration=duration, ignore=appointment if same_worker else None)
        previous_worker_id = appointment.worker_id
        previous_starts_at = appointment.starts_at.astimezone(UTC).isoformat()
        previous_ends_at = appointment.ends_at.astimezone(UTC).isoformat()
        time_changed = appointment.starts_at != starts_at or appointment.ends_at != starts_at + duration
        appointment.worker = target
        appointment.starts_at = starts_at.astimezone(UTC)
        appointment.ends_at = appointment.starts_at + duration
        appointment.travel_buffer_minutes = target.travel_buffer_minutes
        appointment.during = _during(appointment.starts_at, appointment.ends_at, target.travel_buffer_minutes)
        if time_changed:
            appointment.confirmed_at = None  # the customer confirmed the old time, not this one
        _write(
            appointment,
            duration=duration,
            update_fields=["worker", "starts_at", "ends_at", "travel_buffer_minutes", "during", "confirmed_at", "updated_at"],
        )
        if time_changed:
            _plan_reminders(appointment)
        data = ev.AppointmentRescheduledV1(
            **_event_data(appointment),
            by=side,
            previous_worker_id=previous_worker_id,
            previous_starts_at=previous_starts_at,
            previous_ends_at=previous_ends_at,
        )
        emit(ev.APPOINTMENT_RESCHEDULED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
        if appointment.flagged_at is not None:
            _set_flag(appointment, None, actor=actor, cause="rescheduled")
        _review_dependents(job=job, actor=actor)
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
        appointment.conflict_reason, appointment.flagged_at = "", None
        appointment.save(update_fields=["status", "cancelled_at", "conflict_reason", "flagged_at", "updated_at"])
        _drop_unsent_reminders(appointment)
        if job.status == Job.Status.SCHEDULED:
            job_set_status(job=job, status=Job.Status.AWARDED, actor=actor)
        data = ev.AppointmentCancelledV1(**_event_data(appointment), by=side, reason=reason[:500])
        emit(ev.APPOINTMENT_CANCELLED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
        _review_dependents(job=job, actor=actor)
    return appointment


# --- confirmations and reminders --------------------------------------------------------


def appointment_confirm(*, appointment: Appointment, actor: User) -> Appointment:
    """The customer confirms the booked time (from a reminder or the job page). Confirming twice changes nothing.

    Emits ``appointment.confirmed`` the first time; a reschedule clears the confirmation.
    """
    with transaction.atomic():
        appointment, job, side = _locked_booked(appointment, actor)
        if side != "customer":
            raise ServiceError("Only the customer confirms the appointment time.", code="forbidden", kind=Refusal.FORBIDDEN)
        if appointment.confirmed_at is not None:
            return appointment
        if appointment.ends_at <= timezone.now():
            raise ServiceError("This appointment is already over.", code="appointment_over", kind=Refusal.CONFLICT)
        appointment.confirmed_at = timezone.now()
        appointment.save(update_fields=["confirmed_at", "updated_at"])
        emit(
            ev.APPOINTMENT_CONFIRMED,
            aggregate_id=job.pk,
            data=ev.AppointmentConfirmedV1(**_event_data(appointment), by=side),
            actor_id=actor.pk,
        )
    return appointment


def _plan_reminders(appointment: Appointment) -> None:
    """(Re)write the unsent reminders of ``appointment``'s current time; leads already past are skipped."""
    _drop_unsent_reminders(appointment)
    now = timezone.now()
    Reminder.objects.bulk_create(
        [
            Reminder(appointment=appointment, kind=kind, starts_at=appointment.starts_at, due_at=appointment.starts_at - lead)
            for kind, lead in REMINDER_LEADS.items()
            if appointment.starts_at - lead > now
        ],
        ignore_conflicts=True,  # moved back to a time already reminded about: that reminder was sent, never twice
    )


def _drop_unsent_reminders(appointment: Appointment) -> None:
    Reminder.objects.filter(appointment=appointment, sent_at__isnull=True).delete()


def reminders_send(*, now: datetime | None = None, limit: int = 200) -> int:
    """Emit ``appointment.reminder`` for every due, unsent reminder; returns how many were sent.

    Exactly once: each reminder row is claimed with ``FOR UPDATE SKIP LOCKED`` (two clocks never
    take the same row) and stamped ``sent_at`` in the transaction that puts the event in the
    outbox, so a crash either sends it with its stamp or leaves it due for the next tick.
    Downstream, the consumer's inbox and the notification's dedupe key make redelivery harmless.
    A reminder whose appointment already started (the clock was down) is dropped, not sent late.
    """
    now = now or timezone.now()
    sent = 0
    with transaction.atomic():
        due = list(
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(sent_at__isnull=True, due_at__lte=now)
            .select_related("appointment__worker", "appointment__job")
            .order_by("due_at")[:limit]
        )
        stale = [r.pk for r in due if r.appointment.status != Appointment.Status.BOOKED or r.appointment.starts_at <= now]
        Reminder.objects.filter(pk__in=stale).delete()
        for reminder in due:
            if reminder.pk in stale:
                continue
            appointment = reminder.appointment
            reminder.sent_at = now
            reminder.save(update_fields=["sent_at"])
            data = ev.AppointmentReminderV1(
                **_event_data(appointment),
                kind=cast(Literal["24h", "1h"], reminder.kind),
                customer_id=appointment.job.customer_id,
                confirmed=appointment.confirmed_at is not None,
            )
            emit(ev.APPOINTMENT_REMINDER, aggregate_id=appointment.job_id, data=data)
            sent += 1
    return sent


# --- proposals: the tradesperson offers times, the customer books one ---------------------


def proposal_create(
    *, job: Job, worker: Worker, starts: Sequence[datetime], duration_minutes: int, actor: User, message: str = ""
) -> SlotProposal:
    """The awarded tradesperson offers 1-5 start times for ``worker``; replaces their earlier open proposal.

    Each time must be bookable now (same checks as :func:`appointment_book`); the first one
    that is not is refused with its position in the message (nothing written).  Emits
    ``appointment.proposed``.
    """
    if not 1 <= len(starts) <= MAX_PROPOSED_STARTS:
        raise ServiceError(f"Propose between 1 and {MAX_PROPOSED_STARTS} times.", code="invalid_starts", kind=Refusal.INVALID)
    if any(s.tzinfo is None for s in starts):
        raise ServiceError("Each start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
    if len({s.astimezone(UTC) for s in starts}) != len(starts):
        raise ServiceError("The proposed times must be different.", code="duplicate_starts", kind=Refusal.INVALID)
    duration = timedelta(minutes=duration_minutes)
    with transaction.atomic():
        job = _locked_job(job)
        side = _side(job, actor)
        if side != "tradesperson":
            raise ServiceError("Only the tradesperson doing the job proposes times.", code="forbidden", kind=Refusal.FORBIDDEN)
        if job.status != Job.Status.AWARDED:
            raise ServiceError(
                "Times can be proposed only for an awarded job that is not booked yet.", code="job_not_awarded", kind=Refusal.CONFLICT
            )
        _check_worker(job, worker, side)
        ordered = sorted(starts)
        for position, start in enumerate(ordered, 1):
            try:
                _check_prerequisites(job=job, worker=worker, starts_at=start, duration=duration, zone=actor.time_zone)
                _check_slot(worker=worker, starts_at=start, duration=duration)
            except ServiceError as exc:
                label = _format(start, actor.time_zone)
                exc.message = f"Time {position} ({label}): {exc.message}"
                raise
        SlotProposal.objects.filter(job=job, status=SlotProposal.Status.OPEN).update(status=SlotProposal.Status.WITHDRAWN)
        proposal = SlotProposal.objects.create(
            job=job,
            worker=worker,
            starts=[s.astimezone(UTC) for s in ordered],
            duration_minutes=duration_minutes,
            message=message[:500],
            proposed_by=actor,
        )
        data: ev.AppointmentProposedV1 = {
            "job_id": job.pk,
            "proposal_id": proposal.pk,
            "worker_id": worker.pk,
            "tradesperson_id": worker.owner_id,
            "customer_id": job.customer_id,
            "starts": [s.isoformat() for s in proposal.starts],
            "duration_minutes": duration_minutes,
            "time_zone": worker.time_zone,
            "message": proposal.message,
        }
        emit(ev.APPOINTMENT_PROPOSED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
    return proposal


def proposal_accept(*, proposal: SlotProposal, start: datetime, actor: User) -> Appointment:
    """The customer books one of the proposed times (a 409 with suggestions if it was taken meanwhile)."""
    with transaction.atomic():
        job = _locked_job(proposal.job)
        proposal = SlotProposal.objects.select_for_update(of=("self",)).select_related("worker").get(pk=proposal.pk)
        if _side(job, actor) != "customer":
            raise ServiceError("Only the customer books one of the proposed times.", code="forbidden", kind=Refusal.FORBIDDEN)
        if proposal.status != SlotProposal.Status.OPEN:
            raise ServiceError("These times are no longer on offer.", code="proposal_closed", kind=Refusal.CONFLICT)
        if start.tzinfo is None:
            raise ServiceError("The start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
        if all(start != offered for offered in proposal.starts):
            raise ServiceError("That time is not one of the proposed times.", code="not_proposed", kind=Refusal.INVALID)
        proposal.status = SlotProposal.Status.ACCEPTED
        proposal.save(update_fields=["status"])
        appointment = appointment_book(
            job=job, worker=proposal.worker, starts_at=start, duration_minutes=proposal.duration_minutes, actor=actor
        )
        proposal.appointment = appointment
        proposal.save(update_fields=["appointment"])
    return appointment


# --- dependencies -----------------------------------------------------------------------
#
# A dependent job may not start before each of its prerequisites' booked appointments ends.
# Decision: a prerequisite that has no booked appointment yet blocks booking the dependent
# (409 ``prerequisite_not_scheduled``: "book X first"), because "after X" has no date until X
# has one.  Prerequisites that are completed, cancelled or expired no longer hold anything up.
# A booked dependent appointment that stops fitting (its prerequisite is moved later or loses
# its appointment, or a dependency is added to already booked jobs whose prerequisite has no
# date) is never moved or cancelled for people: it is flagged (``conflict_reason`` +
# ``flagged_at``) and ``appointment.flagged`` carries the worker's next free starts after the
# prerequisite ends.  Whenever it fits again the flag is cleared (``appointment.unflagged``).

_NOT_WAITED_FOR = (Job.Status.COMPLETED, Job.Status.CANCELLED, Job.Status.EXPIRED)


@dataclass(frozen=True)
class _Conflict:
    prerequisite: Job
    ends_at: datetime | None  # None: the prerequisite has no booked appointment

    def sentence(self, zone: str) -> str:
        if self.ends_at is None:
            return f"This job depends on “{self.prerequisite.title}”, which has no appointment yet; book that job first."
        return (
            f"This job depends on “{self.prerequisite.title}”, whose appointment ends {_format(self.ends_at, zone)} ({zone}); "
            "it can only start after that."
        )


def appointment_release(*, job: Job, actor: User, side: str, reason: str = "") -> Appointment | None:
    """Cancel the booked appointment of a job that is being cancelled (inside ``jobs.services.job_cancel``'s transaction).

    Unlike :func:`appointment_cancel`, the job is not returned to awarded: it is cancelled.
    Emits ``appointment.cancelled``; None if nothing was booked.
    """
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("worker")
        .filter(job=job, status=Appointment.Status.BOOKED)
        .first()
    )
    if appointment is None:
        return None
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.save(update_fields=["status", "cancelled_at", "updated_at"])
    _drop_unsent_reminders(appointment)
    SlotProposal.objects.filter(job=job, status=SlotProposal.Status.OPEN).update(status=SlotProposal.Status.WITHDRAWN)
    data = ev.AppointmentCancelledV1(**_event_data(appointment), by=side, reason=("The job was cancelled. " + reason)[:500])
    emit(ev.APPOINTMENT_CANCELLED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
    return appointment


def _prerequisite_conflict(*, job_id: int, starts_at: datetime) -> _Conflict | None:
    """The first prerequisite of ``job_id`` that a start at ``starts_at`` does not respect, if any.

    An unscheduled prerequisite wins over a late one; among late ones, the one ending last.
    """
    prerequisites = list(Job.objects.filter(pk__in=selectors.prerequisite_ids(job_id=job_id)).exclude(status__in=_NOT_WAITED_FOR))
    if not prerequisites:
        return None
    booked = {a.job_id: a for a in Appointment.objects.filter(job_id__in=[p.pk for p in prerequisites], status=Appointment.Status.BOOKED)}
    for prerequisite in prerequisites:
        if prerequisite.pk not in booked:
            return _Conflict(prerequisite, None)
    late = [(booked[p.pk].ends_at, p.pk, p) for p in prerequisites if starts_at < booked[p.pk].ends_at]
    if not late:
        return None
    ends_at, _, prerequisite = max(late, key=lambda item: (item[0], item[1]))
    return _Conflict(prerequisite, ends_at)


def _check_prerequisites(
    *, job: Job, worker: Worker, starts_at: datetime, duration: timedelta, zone: str, ignore: Appointment | None = None
) -> None:
    if starts_at.tzinfo is None:
        raise ServiceError("The start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
    conflict = _prerequisite_conflict(job_id=job.pk, starts_at=starts_at)
    if conflict is None:
        return
    if conflict.ends_at is None:
        raise SlotUnavailable(conflict.sentence(zone), code="prerequisite_not_scheduled", kind=Refusal.CONFLICT)
    suggestions = selectors.next_free_slots(worker=worker, duration=duration, after=conflict.ends_at, ignore=ignore)
    hint = " Next free after that: " + ", ".join(_format(s, zone) for s in suggestions) + "." if suggestions else ""
    raise SlotUnavailable(conflict.sentence(zone) + hint, code="dependency_violation", kind=Refusal.CONFLICT, suggestions=suggestions)


def _set_flag(appointment: Appointment, conflict: _Conflict | None, *, actor: User | None, cause: str = "") -> None:
    """Flag ``appointment`` for ``conflict`` (or clear its flag) and emit the matching event, if anything changed."""
    actor_id = actor.pk if actor else None
    if conflict is None:
        if appointment.flagged_at is None:
            return
        appointment.conflict_reason, appointment.flagged_at = "", None
        appointment.save(update_fields=["conflict_reason", "flagged_at", "updated_at"])
        unflagged = ev.AppointmentUnflaggedV1(job_id=appointment.job_id, appointment_id=appointment.pk, cause=cause)
        emit(ev.APPOINTMENT_UNFLAGGED, aggregate_id=appointment.job_id, data=unflagged, actor_id=actor_id)
        return
    zone = appointment.worker.time_zone
    reason = conflict.sentence(zone).replace("This job", "This appointment's job", 1)
    if appointment.flagged_at is not None and appointment.conflict_reason == reason:
        return
    suggestions: list[datetime] = []
    if conflict.ends_at is not None:
        suggestions = selectors.next_free_slots(
            worker=appointment.worker, duration=appointment.ends_at - appointment.starts_at, after=conflict.ends_at, ignore=appointment
        )
    appointment.conflict_reason, appointment.flagged_at = reason, timezone.now()
    appointment.save(update_fields=["conflict_reason", "flagged_at", "updated_at"])
    data = ev.AppointmentFlaggedV1(
        **_event_data(appointment),
        customer_id=conflict.prerequisite.customer_id,
        prerequisite_job_id=conflict.prerequisite.pk,
        prerequisite_ends_at=conflict.ends_at.astimezone(UTC).isoformat() if conflict.ends_at else None,
        reason=reason,
        suggestions=[s.astimezone(UTC).isoformat() for s in suggestions],
    )
    emit(ev.APPOINTMENT_FLAGGED, aggregate_id=appointment.job_id, data=data, actor_id=actor_id)


def _review(*, job_id: int, actor: User | None, cause: str) -> None:
    """Re-check the booked appointment of ``job_id`` (if any) against its prerequisites; flag or clear."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("worker")
        .filter(job_id=job_id, status=Appointment.Status.BOOKED)
        .first()
    )
    if appointment is not None:
        _set_flag(appointment, _prerequisite_conflict(job_id=job_id, starts_at=appointment.starts_at), actor=actor, cause=cause)


def _review_dependents(*, job: Job, actor: User) -> None:
    """After ``job``'s appointment moved or was cancelled: flag dependents that no longer fit, clear those that do again."""
    for dependent_id in sorted(selectors.dependent_ids(job_id=job.pk)):
        _review(job_id=dependent_id, actor=actor, cause="prerequisite_moved")


def _dependency_data(job: Job, depends_on: Job) -> ev.DependencyAddedV1:
    return {"job_id": job.pk, "depends_on_id": depends_on.pk, "customer_id": job.customer_id}


def _find_path(edges: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """A path ``start -> ... -> goal`` following ``edges`` (job -> its prerequisites), or None."""
    parents: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            path = [node]
            while (parent := parents[path[-1]]) is not None:
                path.append(parent)
            return path[::-1]
        for nxt in sorted(edges.get(node, ())):
            if nxt not in parents:
                parents[nxt] = node
                frontier.append(nxt)
    return None


def dependency_add(*, job: Job, depends_on: Job, actor: User) -> JobDependency:
    """Make ``job`` wait for ``depends_on`` (both the actor's own jobs). Adding an existing pair returns it unchanged.

    Refuses: someone else's job (403); a job depending on itself, a loop (``dependency_cycle``),
    a cancelled/expired/completed prerequisite or a dependent that is finished, cancelled or
    already under way (400); both already booked with the dependent starting before the
    prerequisite ends (409 ``dependency_violation``).  If the dependent is booked but the
    prerequisite has no appointment yet, the dependency is added and the dependent appointment
    is flagged.  Emits ``dependency.added`` (aggregate: the dependent job).
    """
    if actor.pk != job.customer_id or actor.pk != depends_on.customer_id:
        raise ServiceError("You can only link jobs you posted yourself.", code="forbidden", kind=Refusal.FORBIDDEN)
    if job.pk == depends_on.pk:
        raise ServiceError("A job cannot depend on itself.", code="dependency_self", kind=Refusal.INVALID)
    with transaction.atomic():
        # One lock over all of the customer's jobs (id order): the graph cannot change while we walk it.
        jobs = {j.pk: j for j in Job.objects.select_for_update().filter(customer_id=actor.pk).order_by("pk")}
        job, depends_on = jobs[job.pk], jobs[depends_on.pk]
        existing = JobDependency.objects.filter(job=job, depends_on=depends_on).first()
        if existing is not None:
            return existing
        if depends_on.status in _NOT_WAITED_FOR:
            done = "is already completed" if depends_on.status == Job.Status.COMPLETED else f"is {depends_on.get_status_display().lower()}"
            raise ServiceError(
                f"“{depends_on.title}” {done}; there is nothing to wait for.", code="prerequisite_closed", kind=Refusal.INVALID
            )
        if job.status not in (Job.Status.OPEN, Job.Status.AWARDED, Job.Status.SCHEDULED):
            state = job.get_status_display().lower()
            raise ServiceError(f"“{job.title}” is {state}; it can no longer wait for another job.", code="job_closed", kind=Refusal.INVALID)
        edges: dict[int, set[int]] = {}
        for dependent_id, prerequisite_id in JobDependency.objects.filter(job__customer_id=actor.pk).values_list("job_id", "depends_on_id"):
            edges.setdefault(dependent_id, set()).add(prerequisite_id)
        loop = _find_path(edges, depends_on.pk, job.pk)
        if loop is not None:
            names = " → ".join(f"“{jobs[pk].title}”" for pk in [job.pk, *loop])
            raise ServiceError(
                f"That would make a loop ({names}): none of these jobs could ever start.", code="dependency_cycle", kind=Refusal.INVALID
            )
        dependent_appointment = selectors.booked_appointment(job_id=job.pk)
        prerequisite_appointment = selectors.booked_appointment(job_id=depends_on.pk)
        if (
            dependent_appointment is not None
            and prerequisite_appointment is not None
            and dependent_appointment.starts_at < prerequisite_appointment.ends_at
        ):
            zone = actor.time_zone
            raise ServiceError(
                f"“{job.title}” is booked for {_format(dependent_appointment.starts_at, zone)}, before “{depends_on.title}” ends "
                f"({_format(prerequisite_appointment.ends_at, zone)}, {zone}); reschedule one of them first.",
                code="dependency_violation",
                kind=Refusal.CONFLICT,
            )
        dependency = JobDependency.objects.create(job=job, depends_on=depends_on, created_by=actor)
        emit(ev.DEPENDENCY_ADDED, aggregate_id=job.pk, data=_dependency_data(job, depends_on), actor_id=actor.pk)
        _review(job_id=job.pk, actor=actor, cause="dependency_added")
    return dependency


def dependency_remove(*, job: Job, depends_on: Job, actor: User) -> None:
    """Stop ``job`` waiting for ``depends_on`` (the customer only); clears a flag this dependency caused.

    Emits ``dependency.removed`` (and ``appointment.unflagged`` if the dependent appointment fits again).
    """
    if actor.pk != job.customer_id:
        raise ServiceError("You can only change your own jobs.", code="forbidden", kind=Refusal.FORBIDDEN)
    with transaction.atomic():
        job = _locked_job(job)
        deleted, _ = JobDependency.objects.filter(job=job, depends_on_id=depends_on.pk).delete()
        if not deleted:
            raise ServiceError("That job does not depend on the other one.", code="not_found", kind=Refusal.NOT_FOUND)
        emit(ev.DEPENDENCY_REMOVED, aggregate_id=job.pk, data=_dependency_data(job, depends_on), actor_id=actor.pk)
        _review(job_id=job.pk, actor=actor, cause="dependency_removed")
