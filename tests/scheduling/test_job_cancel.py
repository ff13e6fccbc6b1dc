"""Cancelling a scheduled job frees the worker's time, and the cancellation policy prices it from the appointment."""

from __future__ import annotations

from datetime import UTC, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job, ProStats
from marketplace.errors import ServiceError
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from matching.projections import ProStatsProjection
from payments import services as payments
from payments.models import Payment
from payments.projections import PaymentsHandler
from scheduling.models import Appointment, BookedTime
from scheduling.services import appointment_book, appointment_reschedule
from tests.factories import pro
from tests.helpers import run_payments_executor
from tracking.services import visit_act, visit_customer_absent

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


def _cancel(job: Job, actor, *, at) -> Payment:
    """Cancel the job at ``at`` (the clock pinned there) and let the payments consumer price it from the job.cancelled event."""
    with time_machine.travel(at, tick=False):
        job_services.job_cancel(job=Job.objects.get(pk=job.pk), actor=actor)
        row = OutboxEvent.objects.filter(key=str(job.pk), event_type="job.cancelled").get()
        PaymentsHandler().handle(from_dict(row.envelope))
        run_payments_executor()  # at the pinned time: the intent is due then
    return Payment.objects.get(job=job)


def test_moving_the_appointment_late_does_not_dodge_the_late_fee(customer):
    job, appointment = booked_soon(customer, "dodgebob", 8)
    acceptance = Payment.objects.get(job=job).acceptance
    # 8 h before the start the customer moves it ten days on, then cancels the job: judged against the first start.
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        appointment_reschedule(appointment=appointment, starts_at=appointment.starts_at + timedelta(days=10), actor=customer)
    history = list(BookedTime.objects.filter(job=job).values_list("ended_by", flat=True))
    assert history == ["customer", ""]
    payment = _cancel(job, customer, at=timezone.now() + timedelta(minutes=20))
    assert payment.cancellation_fee == (acceptance.deposit / 2).quantize(Decimal("0.01"))
    assert payment.status == Payment.Status.CANCELLED


def test_a_move_by_the_tradesperson_does_not_count_against_the_customer(customer):
    job, appointment = booked_soon(customer, "movebob", 8)
    bob = job.tradesperson
    assert bob is not None
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        appointment_reschedule(appointment=appointment, starts_at=appointment.starts_at + timedelta(days=10), actor=bob)
    payment = _cancel(job, customer, at=timezone.now() + timedelta(minutes=20))
    assert payment.cancellation_fee == Decimal("0.00")


def test_the_customer_cancels_free_when_the_tradesperson_has_not_arrived_30_minutes_after_the_start(customer):
    job, appointment = booked_soon(customer, "noshowbob", 8)
    assert payments.pro_no_show(job_id=job.pk, at=appointment.starts_at + timedelta(minutes=29)) is False
    assert payments.pro_no_show(job_id=job.pk, at=appointment.starts_at + timedelta(minutes=31)) is True
    payment = _cancel(job, customer, at=appointment.starts_at + timedelta(minutes=31))
    assert payment.cancellation_fee == Decimal("0.00")
    voided = OutboxEvent.objects.filter(key=str(job.pk), event_type="payment.voided").get().envelope["data"]
    assert "had not arrived 30 minutes after the start" in voided["reason"]


def test_an_arrived_tradesperson_is_no_no_show(customer):
    job, appointment = booked_soon(customer, "arrivebob", 8)
    bob = job.tradesperson
    assert bob is not None
    with time_machine.travel(appointment.starts_at - timedelta(minutes=20), tick=False):
        visit_act(job=job, actor=bob, action="on_the_way")
        visit_act(job=job, actor=bob, action="arrived")
    assert payments.pro_no_show(job_id=job.pk, at=appointment.starts_at + timedelta(hours=1)) is False
    acceptance = Payment.objects.get(job=job).acceptance
    payment = _cancel(job, customer, at=appointment.starts_at + timedelta(minutes=40))
    assert payment.cancellation_fee == (acceptance.deposit / 2).quantize(Decimal("0.01"))


def test_an_absent_customer_after_a_15_minute_wait_pays_the_call_out_fee(customer):
    job, appointment = booked_soon(customer, "waitbob", 8)
    bob = job.tradesperson
    assert bob is not None
    arrived = appointment.starts_at - timedelta(minutes=5)
    with time_machine.travel(arrived, tick=False):
        visit_act(job=job, actor=bob, action="on_the_way")
        visit_act(job=job, actor=bob, action="arrived")
    with time_machine.travel(arrived + timedelta(minutes=14), tick=False), pytest.raises(ServiceError) as early:
        visit_customer_absent(job=job, actor=bob)
    assert early.value.code == "too_soon" and "wait 15 minutes" in early.value.message
    with time_machine.travel(arrived + timedelta(minutes=16), tick=False):
        visit_customer_absent(job=job, actor=bob)
        row = OutboxEvent.objects.filter(key=str(job.pk), event_type="job.cancelled").get()
        PaymentsHandler().handle(from_dict(row.envelope))
        run_payments_executor()  # at the pinned time: the intent is due then
    payment = Payment.objects.get(job=job)
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED
    assert payment.cancellation_fee == Decimal("30.00")  # the call-out fee, though the tradesperson cancelled
    no_show = OutboxEvent.objects.filter(key=str(job.pk), event_type="job.no_show").get().envelope["data"]
    assert (no_show["side"], no_show["fee"]) == ("customer", "30.00")
    # An absent customer does not count against the tradesperson.
    ProStatsProjection().handle(from_dict(OutboxEvent.objects.get(key=str(job.pk), event_type="job.no_show").envelope))
    assert ProStats.objects.filter(tradesperson_id=bob.pk, no_shows__gt=0).count() == 0


def test_a_tradesperson_no_show_is_an_event_that_counts_against_them(customer):
    job, appointment = booked_soon(customer, "latepro", 8)
    _cancel(job, customer, at=appointment.starts_at + timedelta(minutes=45))
    row = OutboxEvent.objects.get(key=str(job.pk), event_type="job.no_show")
    assert row.envelope["data"]["side"] == "tradesperson"
    ProStatsProjection().handle(from_dict(row.envelope))
    assert ProStats.objects.get(tradesperson_id=job.tradesperson_id or 0).no_shows == 1
