"""Reminders (24 h and 1 h before) are planned with the booking and emitted exactly once by the clock;
the customer confirms from the reminder."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from scheduling.models import Appointment, Reminder
from scheduling.services import appointment_book, appointment_cancel, appointment_confirm, appointment_reschedule, reminders_send
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week


@pytest.fixture
def bob(db):
    return pro("bobremind")


@pytest.fixture
def worker(bob):
    return worker_all_week(bob)


def _reminder_events(job_id: int) -> list[dict]:
    rows = OutboxEvent.objects.filter(key=str(job_id), event_type="appointment.reminder").order_by("sequence")
    return [row.envelope["data"] for row in rows]


def _book(customer, bob, worker, start: datetime) -> Appointment:
    job = awarded_job(customer, bob)
    return appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=60, actor=customer)


@pytest.mark.django_db
def test_booking_plans_both_reminders_and_each_is_sent_once(customer, bob, worker):
    start = future_monday(10)
    appointment = _book(customer, bob, worker, start)
    planned = {r.kind: r.due_at for r in appointment.reminders.all()}
    assert planned == {"24h": start - timedelta(hours=24), "1h": start - timedelta(hours=1)}

    assert reminders_send(now=start - timedelta(hours=25)) == 0  # nothing due yet
    assert reminders_send(now=start - timedelta(hours=23)) == 1
    assert reminders_send(now=start - timedelta(hours=23)) == 0  # the clock ticks again: nothing twice
    assert reminders_send(now=start - timedelta(minutes=30)) == 1
    assert reminders_send(now=start - timedelta(minutes=20)) == 0
    kinds = [e["kind"] for e in _reminder_events(appointment.job_id)]
    assert kinds == ["24h", "1h"]
    assert all(r.sent_at is not None for r in appointment.reminders.all())


@pytest.mark.django_db
def test_a_booking_inside_the_day_gets_only_the_hour_reminder(customer, bob, worker):
    start = (timezone.now() + timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    if start.astimezone(ZoneInfo(worker.time_zone)).hour == 23:
        start -= timedelta(hours=2)  # the hour would run past the working day's 23:59:59 (clock-dependent before)
    worker_all_week(bob, start=datetime.min.time(), end=datetime.max.time().replace(microsecond=0))
    appointment = _book(customer, bob, worker, start)
    assert list(appointment.reminders.values_list("kind", flat=True)) == ["1h"]


@pytest.mark.django_db
def test_rescheduling_replans_reminders_and_clears_the_confirmation(customer, bob, worker):
    start = future_monday(10)
    appointment = _book(customer, bob, worker, start)
    reminders_send(now=start - timedelta(hours=23))  # the 24 h reminder of the old time went out
    appointment_confirm(appointment=appointment, actor=customer)
    moved = appointment_reschedule(appointment=appointment, starts_at=start + timedelta(days=1), actor=bob)
    assert moved.confirmed_at is None
    unsent = {r.kind: r.starts_at for r in Reminder.objects.filter(appointment=appointment, sent_at__isnull=True)}
    assert unsent == {"24h": start + timedelta(days=1), "1h": start + timedelta(days=1)}
    assert Reminder.objects.filter(appointment=appointment, sent_at__isnull=False, starts_at=start).count() == 1
    # The new time is reminded about on its own schedule.
    assert reminders_send(now=start + timedelta(hours=1)) == 1
    assert [e["starts_at"] for e in _reminder_events(appointment.job_id)][-1].startswith(
        (start + timedelta(days=1)).strftime("%Y-%m-%dT%H")
    )


@pytest.mark.django_db
def test_cancelling_drops_unsent_reminders_and_a_started_appointment_is_not_reminded_late(customer, bob, worker):
    start = future_monday(10)
    cancelled = _book(customer, bob, worker, start)
    appointment_cancel(appointment=cancelled, actor=customer)
    assert not Reminder.objects.filter(appointment=cancelled, sent_at__isnull=True).exists()
    late = _book(customer, bob, worker, start + timedelta(hours=3))
    # The clock was down for a day: when it comes back the appointment has started; nothing is sent late.
    assert reminders_send(now=start + timedelta(hours=3, minutes=5)) == 0
    assert _reminder_events(late.job_id) == []
    assert not Reminder.objects.filter(appointment=late).exists()


@pytest.mark.django_db(transaction=True)
def test_two_clocks_racing_send_each_reminder_once(customer, bob, worker):
    start = future_monday(10)
    appointments = [_book(customer, bob, worker, start + timedelta(hours=2 * i)) for i in range(4)]
    when = start + timedelta(hours=10) - timedelta(hours=24) + timedelta(minutes=1)  # every 24 h reminder is due
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def clock() -> None:
        try:
            barrier.wait()
            sent.append(reminders_send(now=when))
        finally:
            connection.close()

    threads = [threading.Thread(target=clock) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(sent) == 4
    for appointment in appointments:
        assert [e["kind"] for e in _reminder_events(appointment.job_id)] == ["24h"]


@pytest.mark.django_db
def test_only_the_customer_confirms_and_confirming_twice_emits_once(customer, bob, worker):
    appointment = _book(customer, bob, worker, future_monday(10))
    with pytest.raises(ServiceError) as refused:
        appointment_confirm(appointment=appointment, actor=bob)
    assert status_for(refused.value) == 403
    first = appointment_confirm(appointment=appointment, actor=customer)
    again = appointment_confirm(appointment=appointment, actor=customer)
    assert first.confirmed_at is not None and again.confirmed_at == first.confirmed_at
    assert OutboxEvent.objects.filter(key=str(appointment.job_id), event_type="appointment.confirmed").count() == 1


def test_reminder_leads_are_a_day_and_an_hour() -> None:
    from scheduling.services import REMINDER_LEADS

    assert sorted(REMINDER_LEADS.values()) == [timedelta(hours=1), timedelta(hours=24)]
    assert datetime(2030, 1, 1, tzinfo=UTC) - REMINDER_LEADS["24h"] == datetime(2029, 12, 31, tzinfo=UTC)
