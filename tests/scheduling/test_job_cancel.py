"""Cancelling a scheduled job frees the worker's time, and the cancellation policy prices it from the appointment."""

from __future__ import annotations

from datetime import UTC, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from marketplace.events.models import OutboxEvent
from payments import services as payments
from payments.models import Payment
from scheduling.models import Appointment
from scheduling.services import appointment_book
from tests.factories import pro
from tests.helpers import run_payments_executor

from .helpers import awarded_job, worker_all_week

pytestmark = pytest.mark.django_db


def booked_soon(customer, name: str, hours_ahead: int) -> tuple[Job, Appointment]:
    """An awarded job booked for an hour about ``hours_ahead`` from now (the worker works 00:00-23:30 every day)."""
    bob = pro(name)
    worker = worker_all_week(bob, start=time(0), end=time(23, 30))
    job = awarded_job(customer, bob)
    local = (
        (timezone.now() + timedelta(hours=hours_ahead)).astimezone(ZoneInfo(worker.time_zone)).replace(minute=0, second=0, microsecond=0)
    )
    if local.hour >= 22:  # keep the hour (and its travel buffer) inside one working day
        local = (local + timedelta(hours=3)).replace(hour=1)
    appointment = appointment_book(job=job, worker=worker, starts_at=local.astimezone(UTC), duration_minutes=60, actor=customer)
    return job, appointment


def test_a_cancelled_job_releases_its_appointment_in_the_same_transaction(customer):
    job, appointment = booked_soon(customer, "cancelbob", 48)
    job_services.job_cancel(job=Job.objects.get(pk=job.pk), actor=customer, reason="Sorted")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED and appointment.cancelled_at is not None
    kinds = list(OutboxEvent.objects.filter(key=str(job.pk)).order_by("sequence").values_list("event_type", flat=True))
    assert kinds[-2:] == ["appointment.cancelled", "job.cancelled"]


def test_the_late_cancellation_fee_counts_from_the_booked_appointment(customer):
    job, _ = booked_soon(customer, "latebob", 8)  # the job itself has no preferred window
    acceptance = Payment.objects.get(job=job).acceptance
    job_services.job_cancel(job=Job.objects.get(pk=job.pk), actor=customer)
    payments.payment_cancel(job_id=job.pk, cancelled_at=acceptance.accepted_at + timedelta(minutes=10), by_customer=True)
    run_payments_executor()
    payment = Payment.objects.get(job=job)
    assert payment.cancellation_fee == (acceptance.deposit / 2).quantize(Decimal("0.01"))
