"""Job dependencies ("paint after the wall is built") through the real services and Postgres."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from jobs.models import Job
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from scheduling.models import Appointment, JobDependency
from scheduling.services import (
    SlotUnavailable,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    dependency_add,
    dependency_remove,
)
from tests.factories import post_job, pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db

MONDAY = future_monday(0)


@pytest.fixture(autouse=True)
def _monday() -> None:
    # A winter Monday ahead of the date each test runs, not of the date the module was imported (TEST_CLOCK).
    global MONDAY
    MONDAY = future_monday(0)


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(hours=hour, minutes=minute)


@pytest.fixture
def bob():
    return pro("bobdeps")


@pytest.fixture
def worker(bob):
    return worker_all_week(bob)


@pytest.fixture
def wall(customer, bob):
    return awarded_job(customer, bob, title="Build the wall")


@pytest.fixture
def paint(customer, bob):
    return awarded_job(customer, bob, title="Paint the wall")


def events(job: Job) -> list[str]:
    return list(OutboxEvent.objects.filter(key=str(job.pk)).order_by("sequence").values_list("event_type", flat=True))


def last_data(job: Job, event_type: str) -> dict[str, Any]:
    event = OutboxEvent.objects.filter(key=str(job.pk), event_type=event_type).order_by("sequence").last()
    assert event is not None, f"no {event_type} for job {job.pk}"
    data: dict[str, Any] = event.envelope["data"]
    return data


def refusal(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str, int]:
    return str(exc.value.code), status_for(exc.value)


def book(job: Job, worker, start: datetime, minutes: int, actor) -> Appointment:
    return appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=minutes, actor=actor)


def test_adding_a_dependency_emits_an_event_and_is_idempotent(customer, wall, paint):
    dependency = dependency_add(job=paint, depends_on=wall, actor=customer)
    assert dependency_add(job=paint, depends_on=wall, actor=customer) == dependency
    assert JobDependency.objects.count() == 1
    assert events(paint).count("dependency.added") == 1
    assert last_data(paint, "dependency.added") == {"job_id": paint.pk, "depends_on_id": wall.pk, "customer_id": customer.pk}


def test_cycles_and_self_dependencies_are_refused(customer, bob):
    a, b, c = (awarded_job(customer, bob, title=title) for title in ("A", "B", "C"))
    dependency_add(job=a, depends_on=b, actor=customer)
    with pytest.raises(ServiceError) as refused:
        dependency_add(job=b, depends_on=a, actor=customer)
    assert refusal(refused) == ("dependency_cycle", 409)
    dependency_add(job=b, depends_on=c, actor=customer)
    with pytest.raises(ServiceError) as refused:
        dependency_add(job=c, depends_on=a, actor=customer)
    assert refusal(refused) == ("dependency_cycle", 409)
    assert "“C” → “A” → “B” → “C”" in str(refused.value.message)
    with pytest.raises(ServiceError) as refused:
        dependency_add(job=a, depends_on=a, actor=customer)
    assert refusal(refused) == ("dependency_self", 400)
    assert set(JobDependency.objects.values_list("job_id", "depends_on_id")) == {(a.pk, b.pk), (b.pk, c.pk)}
    assert "dependency.added" not in events(c)
    # The database has the last word on self-dependencies too.
    with pytest.raises(IntegrityError), transaction.atomic():
        JobDependency.objects.create(job=a, depends_on=a)


def test_someone_elses_jobs_are_forbidden(customer, other_customer, wall, paint):
    theirs = post_job(other_customer)
    for job, depends_on, actor in ((paint, wall, other_customer), (paint, theirs, customer), (theirs, wall, other_customer)):
        with pytest.raises(ServiceError) as refused:
            dependency_add(job=job, depends_on=depends_on, actor=actor)
        assert refusal(refused) == ("forbidden", 403)
    dependency_add(job=paint, depends_on=wall, actor=customer)
    with pytest.raises(ServiceError) as refused:
        dependency_remove(job=paint, depends_on=wall, actor=other_customer)
    assert refusal(refused) == ("forbidden", 403)
    assert JobDependency.objects.count() == 1


@pytest.mark.parametrize("status", [Job.Status.CANCELLED, Job.Status.EXPIRED, Job.Status.COMPLETED])
def test_a_closed_prerequisite_is_refused(customer, wall, paint, status):
    Job.objects.filter(pk=wall.pk).update(status=status)
    with pytest.raises(ServiceError) as refused:
        dependency_add(job=paint, depends_on=wall, actor=customer)
    assert refusal(refused) == ("prerequisite_closed", 400)
    Job.objects.filter(pk=wall.pk).update(status=Job.Status.AWARDED)
    Job.objects.filter(pk=paint.pk).update(status=status)
    with pytest.raises(ServiceError) as refused:
        dependency_add(job=paint, depends_on=wall, actor=customer)
    assert refusal(refused) == ("job_closed", 400)
    assert not JobDependency.objects.exists()


def test_the_dependent_can_only_be_booked_after_the_prerequisite(customer, bob, worker, wall, paint):
    dependency_add(job=paint, depends_on=wall, actor=customer)
    with pytest.raises(SlotUnavailable) as refused:
        book(paint, worker, at(14), 60, customer)
    assert refusal(refused) == ("prerequisite_not_scheduled", 409)
    assert "Build the wall" in str(refused.value.message)

    book(wall, worker, at(10), 120, bob)  # 10:00-12:00, then 30 minutes' travel
    with pytest.raises(SlotUnavailable) as refused:
        book(paint, worker, at(11), 60, customer)
    assert refusal(refused) == ("dependency_violation", 409)
    message = str(refused.value.message)
    assert "Build the wall" in message and "12:00" in message and "Europe/London" in message
    assert refused.value.suggestions and refused.value.suggestions[0] == at(12, 30)
    assert not Appointment.objects.filter(job=paint).exists()

    appointment = book(paint, worker, at(12, 30), 60, customer)
    assert appointment.flagged_at is None
    # Rescheduling the dependent is held to the same rule.
    with pytest.raises(SlotUnavailable) as refused:
        appointment_reschedule(appointment=appointment, starts_at=at(8), actor=bob)
    assert refusal(refused) == ("dependency_violation", 409)


def test_moving_the_prerequisite_later_flags_the_dependent_until_it_is_fixed(customer, bob, worker, wall, paint):
    dependency_add(job=paint, depends_on=wall, actor=customer)
    wall_appointment = book(wall, worker, at(8), 120, bob)  # 08:00-10:00
    paint_appointment = book(paint, worker, at(10, 30), 60, customer)  # 10:30-11:30

    appointment_reschedule(appointment=wall_appointment, starts_at=at(12), actor=bob)  # now ends 14:00
    paint_appointment.refresh_from_db()
    assert paint_appointment.flagged_at is not None and "Build the wall" in paint_appointment.conflict_reason
    assert events(paint)[-1] == "appointment.flagged"
    data = last_data(paint, "appointment.flagged")
    assert data["prerequisite_job_id"] == wall.pk and data["appointment_id"] == paint_appointment.pk
    assert data["prerequisite_ends_at"] == at(14).isoformat() and data["customer_id"] == customer.pk
    suggestions = [datetime.fromisoformat(s) for s in data["suggestions"]]
    assert suggestions and suggestions[0] == at(14, 30) and all(s >= at(14) for s in suggestions)

    # Moving the wall again re-flags with the new end; moving it where the paint still fits does not.
    appointment_reschedule(appointment=wall_appointment, starts_at=at(12, 30), actor=bob)
    assert events(paint).count("appointment.flagged") == 2

    fixed = appointment_reschedule(appointment=paint_appointment, starts_at=suggestions[0] + timedelta(minutes=30), actor=customer)
    assert fixed.flagged_at is None and fixed.conflict_reason == ""
    paint_appointment.refresh_from_db()
    assert paint_appointment.flagged_at is None
    assert events(paint)[-2:] == ["appointment.rescheduled", "appointment.unflagged"]
    assert last_data(paint, "appointment.unflagged")["cause"] == "rescheduled"


def test_moving_the_prerequisite_back_earlier_clears_the_flag(customer, bob, worker, wall, paint):
    dependency_add(job=paint, depends_on=wall, actor=customer)
    wall_appointment = book(wall, worker, at(8), 60, bob)
    book(paint, worker, at(10), 60, customer)
    appointment_reschedule(appointment=wall_appointment, starts_at=at(12), actor=bob)
    assert events(paint)[-1] == "appointment.flagged"
    appointment_reschedule(appointment=wall_appointment, starts_at=at(8), actor=bob)
    assert events(paint)[-1] == "appointment.unflagged"
    assert last_data(paint, "appointment.unflagged")["cause"] == "prerequisite_moved"
    assert not Appointment.objects.filter(flagged_at__isnull=False).exists()


def test_cancelling_the_prerequisite_appointment_flags_the_dependent(customer, bob, worker, wall, paint):
    dependency_add(job=paint, depends_on=wall, actor=customer)
    wall_appointment = book(wall, worker, at(8), 60, bob)
    paint_appointment = book(paint, worker, at(10), 60, customer)
    appointment_cancel(appointment=wall_appointment, actor=bob)
    paint_appointment.refresh_from_db()
    assert paint_appointment.flagged_at is not None and "no appointment yet" in paint_appointment.conflict_reason
    data = last_data(paint, "appointment.flagged")
    assert data["prerequisite_ends_at"] is None and data["suggestions"] == []
    # Booking the wall again before the paint clears it.
    book(wall, worker, at(8), 60, bob)
    paint_appointment.refresh_from_db()
    assert paint_appointment.flagged_at is None and events(paint)[-1] == "appointment.unflagged"


def test_linking_booked_jobs(customer, bob, worker, wall, paint):
    book(wall, worker, at(10), 60, bob)
    paint_appointment = book(paint, worker, at(8), 60, customer)
    with pytest.raises(ServiceError) as refused:
        dependency_add(job=paint, depends_on=wall, actor=customer)
    assert refusal(refused) == ("dependency_violation", 409)
    assert not JobDependency.objects.exists() and "dependency.added" not in events(paint)
    # The other way round fits: the wall starts after the paint ends.
    dependency_add(job=wall, depends_on=paint, actor=customer)
    # A booked dependent whose prerequisite has no appointment yet is linked and flagged.
    primer = awarded_job(customer, bob, title="Prime the wall")
    dependency_add(job=paint, depends_on=primer, actor=customer)
    paint_appointment.refresh_from_db()
    assert paint_appointment.flagged_at is not None and events(paint)[-2:] == ["dependency.added", "appointment.flagged"]
    dependency_remove(job=paint, depends_on=primer, actor=customer)
    paint_appointment.refresh_from_db()
    assert paint_appointment.flagged_at is None
    assert events(paint)[-2:] == ["dependency.removed", "appointment.unflagged"]
    with pytest.raises(ServiceError) as refused:
        dependency_remove(job=paint, depends_on=primer, actor=customer)
    assert refusal(refused) == ("not_found", 404)
