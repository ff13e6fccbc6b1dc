"""Booking, rescheduling and cancelling through the real services and Postgres, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange  # type: ignore[import-untyped]
from django.utils import timezone

from jobs.models import Job
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from scheduling.models import Appointment
from scheduling.services import (
    SlotUnavailable,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    time_off_add,
    worker_for_owner,
)
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob():
    return pro("bobsched")


@pytest.fixture
def job(customer, bob):
    return awarded_job(customer, bob)


@pytest.fixture
def worker(bob):
    return worker_all_week(bob)


def events(job: Job) -> list[str]:
    return list(OutboxEvent.objects.filter(key=str(job.pk)).order_by("sequence").values_list("event_type", flat=True))


def test_the_owner_is_a_worker_with_default_hours(bob):
    worker = worker_for_owner(owner=bob)
    assert worker_for_owner(owner=bob) == worker and worker.owner == bob and worker.travel_buffer_minutes == 30
    assert worker.hours.count() == 5


def test_customer_books_and_the_job_is_scheduled(job, worker, customer):
    start = future_monday(10)
    appointment = appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=90, actor=customer)
    job.refresh_from_db()
    assert job.status == Job.Status.SCHEDULED
    assert appointment.ends_at == start + timedelta(minutes=90)
    assert appointment.during.upper == start + timedelta(minutes=120)
    assert events(job)[-2:] == ["job.status_changed", "appointment.booked"]
    data = OutboxEvent.objects.filter(event_type="appointment.booked").get().envelope["data"]
    assert data["starts_at"] == start.isoformat() and data["worker_id"] == worker.pk and data["by"] == "customer"


def test_reschedule_and_cancel(job, worker, customer, bob):
    appointment = appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    moved = appointment_reschedule(appointment=appointment, starts_at=future_monday(10, weeks=3), actor=bob)
    assert moved.starts_at == future_monday(10, weeks=3)
    # Moving by half an hour overlaps its own old time: that does not count as taken.
    appointment_reschedule(appointment=appointment, starts_at=future_monday(10, weeks=3) + timedelta(minutes=30), actor=customer)
    appointment_cancel(appointment=appointment, actor=bob, reason="van broke down")
    job.refresh_from_db()
    assert job.status == Job.Status.AWARDED
    assert events(job)[-4:] == ["appointment.rescheduled", "appointment.rescheduled", "job.status_changed", "appointment.cancelled"]
    again = appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    assert again.pk != appointment.pk
    with pytest.raises(ServiceError) as refused:
        appointment_cancel(appointment=appointment, actor=customer)
    assert refused.value.code == "not_booked"


def _refusal(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return str(exc.value.code), status_for(exc.value)


def test_overlap_is_409_with_the_next_free_slots(customer, bob, worker, job):
    appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    other = awarded_job(customer, bob, title="Second job")
    with pytest.raises(SlotUnavailable) as refused:
        appointment_book(job=other, worker=worker, starts_at=future_monday(10) + timedelta(minutes=30), duration_minutes=60, actor=customer)
    assert _refusal(refused) == ("slot_taken", 409)
    # 10:00-11:00 plus 30 minutes' travel: the next start is 11:30.
    assert refused.value.suggestions[0] == future_monday(11) + timedelta(minutes=30)
    assert "Next free" in str(refused.value.message)
    other.refresh_from_db()
    assert other.status == Job.Status.AWARDED and Appointment.objects.filter(job=other).count() == 0


@pytest.mark.parametrize(
    ("when", "minutes", "code", "status"),
    [
        (lambda: timezone.now() - timedelta(hours=1), 60, "in_the_past", 400),
        (lambda: future_monday(19), 60, "outside_working_hours", 409),
        (lambda: future_monday(17, weeks=2) + timedelta(minutes=30), 60, "outside_working_hours", 409),
        (lambda: future_monday(10), 0, "ends_before_start", 400),
        (lambda: future_monday(10), -30, "ends_before_start", 400),
        (lambda: future_monday(10).replace(tzinfo=None), 60, "naive_time", 400),
    ],
)
def test_bad_times_are_refused_and_nothing_is_written(job, worker, customer, when, minutes, code, status):
    before = OutboxEvent.objects.count()
    with pytest.raises(ServiceError) as refused:
        appointment_book(job=job, worker=worker, starts_at=when(), duration_minutes=minutes, actor=customer)
    assert _refusal(refused) == (code, status)
    assert Appointment.objects.count() == 0 and OutboxEvent.objects.count() == before


def test_time_off_is_refused(job, worker, customer, bob):
    time_off_add(worker=worker, actor=bob, starts_at=future_monday(9), ends_at=future_monday(13), reason="dentist")
    with pytest.raises(ServiceError) as refused:
        appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    assert _refusal(refused) == ("time_off", 409)


def next_spring_gap() -> datetime:
    """01:30 on the next day London's clocks go forward (the last Sunday of March): a time that does not exist."""
    year = timezone.now().year
    while True:
        last = datetime(year, 3, 31, 1, 30, tzinfo=ZoneInfo("Europe/London"))
        gap = last - timedelta(days=(last.weekday() + 1) % 7)
        if gap > timezone.now() + timedelta(days=1):
            return gap
        year += 1


def test_a_time_in_the_dst_gap_is_refused(job, customer, bob):
    worker = worker_all_week(bob, start=time(0), end=time(6))
    gap = next_spring_gap()
    with pytest.raises(ServiceError) as refused:
        appointment_book(job=job, worker=worker, starts_at=gap, duration_minutes=60, actor=customer)
    assert _refusal(refused) == ("nonexistent_time", 400)
    # One real hour later (02:30 BST) is fine.
    appointment_book(job=job, worker=worker, starts_at=gap.replace(hour=2), duration_minutes=60, actor=customer)


def test_someone_elses_job_is_forbidden(job, worker, other_customer, customer):
    intruder = pro("intruder")
    for actor in (other_customer, intruder):
        with pytest.raises(ServiceError) as refused:
            appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=actor)
        assert _refusal(refused) == ("forbidden", 403)
    with pytest.raises(ServiceError) as refused:
        appointment_book(job=job, worker=worker_all_week(intruder), starts_at=future_monday(10), duration_minutes=60, actor=customer)
    assert _refusal(refused) == ("wrong_worker", 400)


def test_an_open_job_cannot_be_booked(customer, bob, worker):
    from tests.factories import post_job

    job = post_job(customer)
    with pytest.raises(ServiceError) as refused:
        appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    assert _refusal(refused) == ("job_not_awarded", 409)


def test_the_database_refuses_an_overlapping_booked_row(customer, bob, worker, job):
    appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    other = awarded_job(customer, bob, title="Second job")
    start = future_monday(11)  # inside the first one's travel buffer
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            job=other,
            worker=worker,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            during=DateTimeTZRange(start, start + timedelta(hours=1)),
        )
    # A cancelled row may overlap: only booked appointments block time.
    Appointment.objects.create(
        job=other,
        worker=worker,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        during=DateTimeTZRange(start, start + timedelta(hours=1)),
        status=Appointment.Status.CANCELLED,
    )
    with pytest.raises(IntegrityError), transaction.atomic():  # during must start at starts_at
        Appointment.objects.create(
            job=other,
            worker=worker,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            during=DateTimeTZRange(start + timedelta(minutes=1), start + timedelta(hours=2)),
            status="cancelled",
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchone() == ("btree_gist",)
    assert datetime.now(UTC) < start
