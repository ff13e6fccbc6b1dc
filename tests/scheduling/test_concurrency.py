"""32 threads race to book overlapping slots for one worker: the database lets exactly one win."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from jobs.models import Job
from marketplace.errors import ServiceError
from scheduling.models import Appointment
from scheduling.services import appointment_book
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week

THREADS = 32


@pytest.mark.django_db(transaction=True)
def test_32_threads_booking_overlapping_slots_exactly_one_succeeds(customer):
    bob = pro("racer")
    worker = worker_all_week(bob)
    jobs = [awarded_job(customer, bob, title=f"Job {i}") for i in range(THREADS)]
    base = future_monday(10)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            # Every start lies within an hour of the others, so every pair overlaps (plus travel).
            start = base + timedelta(minutes=2 * index)
            appointment_book(job=jobs[index], worker=worker, starts_at=start, duration_minutes=60, actor=customer)
            result = "booked"
        except ServiceError as exc:
            result = str(exc.code)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            result = f"error {exc!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    connection.close()

    assert sorted(outcomes) == ["booked"] + ["slot_taken"] * (THREADS - 1), outcomes
    assert Appointment.objects.filter(worker=worker, status=Appointment.Status.BOOKED).count() == 1
    assert Job.objects.filter(pk__in=[j.pk for j in jobs], status=Job.Status.SCHEDULED).count() == 1
