"""Confirmations and reminders (24 h and 1 h before each appointment)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .. import events as ev
from ..models import Appointment, Reminder
from .common import REMINDER_LEADS, appointment_data, locked_booked


def appointment_confirm(*, appointment: Appointment, actor: User, via: Literal["web", "sms"] = "web") -> Appointment:
    """The customer confirms the booked time (from a reminder, the job page or a text). Confirming twice changes nothing.

    Emits ``appointment.confirmed`` the first time; a reschedule clears the confirmation.  ``via`` is kept
    (shown as "Confirmed by SMS"); confirming clears a request for another time.
    """
    with transaction.atomic():
        appointment, job, side = locked_booked(appointment, actor)
        if side != "customer":
            raise ServiceError("Only the customer confirms the appointment time.", code="forbidden", kind=Refusal.FORBIDDEN)
        if appointment.confirmed_at is not None:
            return appointment
        if appointment.ends_at <= timezone.now():
            raise ServiceError("This appointment is already over.", code="appointment_over", kind=Refusal.CONFLICT)
        appointment.confirmed_at = timezone.now()
        appointment.confirmed_via = via
        appointment.reschedule_requested_at = None
        appointment.save(update_fields=["confirmed_at", "confirmed_via", "reschedule_requested_at", "updated_at"])
        emit(
            ev.APPOINTMENT_CONFIRMED,
            aggregate_id=job.pk,
            data=ev.AppointmentConfirmedV1(**appointment_data(appointment), by=side),
            actor_id=actor.pk,
        )
    return appointment


def plan_reminders(appointment: Appointment) -> None:
    """(Re)write the unsent reminders of ``appointment``'s current time; leads already past are skipped."""
    drop_unsent_reminders(appointment)
    now = timezone.now()
    Reminder.objects.bulk_create(
        [
            Reminder(appointment=appointment, kind=kind, starts_at=appointment.starts_at, due_at=appointment.starts_at - lead)
            for kind, lead in REMINDER_LEADS.items()
            if appointment.starts_at - lead > now
        ],
        ignore_conflicts=True,  # moved back to a time already reminded about: that reminder was sent, never twice
    )


def drop_unsent_reminders(appointment: Appointment) -> None:
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
                **appointment_data(appointment),
                kind=cast(Literal["24h", "1h"], reminder.kind),
                customer_id=appointment.job.customer_id,
                confirmed=appointment.confirmed_at is not None,
            )
            emit(ev.APPOINTMENT_REMINDER, aggregate_id=appointment.job_id, data=data)
            sent += 1
    return sent


def appointment_request_reschedule(*, appointment: Appointment, actor: User, via: Literal["web", "sms"] = "sms") -> Appointment:
    """The customer asks the business for another time (a reply "R" to a reminder). Asking twice changes nothing.

    Flags the appointment (``reschedule_requested_at``, shown on the dispatch board and both job pages)
    until the business moves it; clears a confirmation.  Emits ``appointment.reschedule_requested``.
    """
    with transaction.atomic():
        appointment, job, side = locked_booked(appointment, actor)
        if side != "customer":
            raise ServiceError("Only the customer asks for another time.", code="forbidden", kind=Refusal.FORBIDDEN)
        if appointment.reschedule_requested_at is not None:
            return appointment
        if appointment.ends_at <= timezone.now():
            raise ServiceError("This appointment is already over.", code="appointment_over", kind=Refusal.CONFLICT)
        appointment.reschedule_requested_at = timezone.now()
        appointment.confirmed_at, appointment.confirmed_via = None, ""
        appointment.save(update_fields=["reschedule_requested_at", "confirmed_at", "confirmed_via", "updated_at"])
        emit(
            ev.APPOINTMENT_RESCHEDULE_REQUESTED,
            aggregate_id=job.pk,
            data=ev.AppointmentRescheduleRequestedV1(**appointment_data(appointment), by=side, via=via),
            actor_id=actor.pk,
        )
    return appointment
