"""Booking, rescheduling and cancelling appointments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from jobs.services import job_set_status
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .. import events as ev
from ..models import Appointment, SlotProposal, Worker
from .common import (
    acting_side,
    appointment_data,
    booked_time_end,
    booked_time_start,
    check_slot,
    check_worker,
    during,
    locked_booked,
    locked_job,
    write_appointment,
)
from .dependencies import check_prerequisites, review_dependents, set_flag
from .reminders import drop_unsent_reminders, plan_reminders


def appointment_book(
    *, job: Job, worker: Worker, starts_at: datetime, duration_minutes: int, actor: User, dispatcher: bool = False
) -> Appointment:
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
        job = locked_job(job)
        side = acting_side(job, actor)
        if job.status == Job.Status.SCHEDULED:
            raise ServiceError(
                "This job already has an appointment; reschedule it instead.", code="already_scheduled", kind=Refusal.CONFLICT
            )
        if job.status != Job.Status.AWARDED:
            raise ServiceError("Only an awarded job can be booked.", code="job_not_awarded", kind=Refusal.CONFLICT)
        check_worker(job, worker, side)
        check_prerequisites(job=job, worker=worker, starts_at=starts_at, duration=duration, zone=actor.time_zone)
        check_slot(worker=worker, starts_at=starts_at, duration=duration, dispatcher=dispatcher)
        starts_at = starts_at.astimezone(UTC)
        ends_at = starts_at + duration
        appointment = Appointment(
            job=job,
            worker=worker,
            starts_at=starts_at,
            ends_at=ends_at,
            travel_buffer_minutes=worker.travel_buffer_minutes,
            during=during(starts_at, ends_at, worker.travel_buffer_minutes),
            booked_by=actor,
        )
        write_appointment(appointment, duration=duration)
        booked_time_start(appointment, at=timezone.now())
        plan_reminders(appointment)
        SlotProposal.objects.filter(job=job, status=SlotProposal.Status.OPEN).update(status=SlotProposal.Status.WITHDRAWN)
        job_set_status(job=job, status=Job.Status.SCHEDULED, actor=actor)
        data = ev.AppointmentBookedV1(**appointment_data(appointment), by=side)
        emit(ev.APPOINTMENT_BOOKED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
        review_dependents(job=job, actor=actor)
    return appointment


def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: datetime,
    actor: User,
    duration_minutes: int | None = None,
    worker: Worker | None = None,
    dispatcher: bool = False,
) -> Appointment:
    """Move a booked appointment to ``starts_at`` (optionally another duration or worker of the same business).

    Same refusals as :func:`appointment_book`; the appointment's own time does not count as
    taken.  Emits ``appointment.rescheduled`` with the previous times; a valid move clears the
    appointment's dependency flag (``appointment.unflagged``), and dependents that no longer fit
    are flagged in the same transaction (``appointment.flagged`` with suggested starts).  ``dispatcher``: moved
    from the dispatch board (see :func:`scheduling.services.common.check_slot`).
    """
    with transaction.atomic():
        appointment, job, side = locked_booked(appointment, actor)
        target = worker or appointment.worker
        check_worker(job, target, side)
        duration = timedelta(minutes=duration_minutes) if duration_minutes is not None else appointment.ends_at - appointment.starts_at
        same_worker = target.pk == appointment.worker_id
        check_prerequisites(job=job, worker=target, starts_at=starts_at, duration=duration, zone=actor.time_zone, ignore=appointment)
        check_slot(
            worker=target, starts_at=starts_at, duration=duration, ignore=appointment if same_worker else None, dispatcher=dispatcher
        )
        previous_worker_id = appointment.worker_id
        previous_starts_at = appointment.starts_at.astimezone(UTC).isoformat()
        previous_ends_at = appointment.ends_at.astimezone(UTC).isoformat()
        time_changed = appointment.starts_at != starts_at or appointment.ends_at != starts_at + duration
        appointment.worker = target
        appointment.starts_at = starts_at.astimezone(UTC)
        appointment.ends_at = appointment.starts_at + duration
        appointment.travel_buffer_minutes = target.travel_buffer_minutes
        appointment.during = during(appointment.starts_at, appointment.ends_at, target.travel_buffer_minutes)
        if time_changed:
            appointment.confirmed_at = None  # the customer confirmed the old time, not this one
            appointment.confirmed_via = ""
            appointment.reschedule_requested_at = None  # the customer's request for another time is answered
        write_appointment(
            appointment,
            duration=duration,
            update_fields=[
                "worker",
                "starts_at",
                "ends_at",
                "travel_buffer_minutes",
                "during",
                "confirmed_at",
                "confirmed_via",
                "reschedule_requested_at",
                "updated_at",
            ],
        )
        if time_changed:
            # The old start stays in the history with who moved it: a late move by the customer still counts as late.
            now = timezone.now()
            booked_time_end(appointment, side=side, at=now)
            booked_time_start(appointment, at=now)
            plan_reminders(appointment)
        data = ev.AppointmentRescheduledV1(
            **appointment_data(appointment),
            by=side,
            previous_worker_id=previous_worker_id,
            previous_starts_at=previous_starts_at,
            previous_ends_at=previous_ends_at,
        )
        emit(ev.APPOINTMENT_RESCHEDULED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
        if appointment.flagged_at is not None:
            set_flag(appointment, None, actor=actor, cause="rescheduled")
        review_dependents(job=job, actor=actor)
    return appointment


def appointment_cancel(*, appointment: Appointment, actor: User, reason: str = "") -> Appointment:
    """Cancel a booked appointment (either side); the job goes back to awarded and can be booked again.

    Money is not touched here: cancelling the *job* is what the quotes cancellation policy prices.
    Emits ``job.status_changed`` and ``appointment.cancelled``.
    """
    with transaction.atomic():
        appointment, job, side = locked_booked(appointment, actor)
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = timezone.now()
        appointment.conflict_reason, appointment.flagged_at = "", None
        appointment.save(update_fields=["status", "cancelled_at", "conflict_reason", "flagged_at", "updated_at"])
        booked_time_end(appointment, side=side, at=appointment.cancelled_at)
        drop_unsent_reminders(appointment)
        if job.status == Job.Status.SCHEDULED:
            job_set_status(job=job, status=Job.Status.AWARDED, actor=actor)
        data = ev.AppointmentCancelledV1(**appointment_data(appointment), by=side, reason=reason[:500])
        emit(ev.APPOINTMENT_CANCELLED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
        review_dependents(job=job, actor=actor)
    return appointment
