"""Matching asks the capacity read model whether a tradesperson has room in a job's window (jobs.selectors.pro_is_available)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from jobs.models import Lead, TradespersonProfile
from marketplace.events.registry import get_consumer
from matching.selectors import pro_is_available
from scheduling.capacity import refresh_worker_days
from scheduling.models import Worker, WorkerDayCapacity
from scheduling.services import appointment_book
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import post_job, pro

from .helpers import awarded_job, future_monday, worker_all_week
from .test_capacity_model import capacity_consumer


@pytest.mark.django_db(transaction=True)
def test_a_fully_booked_tradesperson_is_not_offered_a_lead_for_that_window_and_a_free_one_is(broker, customer, other_customer):
    busy, free = pro("capbusy"), pro("capfree")
    busy_worker = worker_all_week(busy, start=time(9), end=time(12), buffer=0)
    worker_all_week(free, start=time(9), end=time(12), buffer=0)
    monday = future_monday(9)
    # Book the busy business's Monday 09:00-12:00 solid, and let the capacity consumer project it.
    appointment_book(job=awarded_job(customer, busy), worker=busy_worker, starts_at=monday, duration_minutes=180, actor=customer)
    relay_all()
    run_consumer_until(
        lambda: WorkerDayCapacity.objects.filter(worker_id=busy_worker.pk, day=monday.date(), appointments=1).exists(),
        capacity_consumer(),
    )
    row = WorkerDayCapacity.objects.get(worker_id=busy_worker.pk, day=monday.date())
    assert (row.working_minutes, row.free_minutes, row.longest_free_minutes) == (180, 0, 0)

    morning = post_job(other_customer, title="Busy morning", window_start=monday, window_end=monday + timedelta(hours=3))
    tuesday = monday + timedelta(days=1)
    later = post_job(other_customer, title="Tuesday morning", window_start=tuesday, window_end=tuesday + timedelta(hours=3))
    relay_all()
    run_consumer_until(lambda: Lead.objects.filter(job__in=[morning, later]).count() >= 3, get_consumer("matching"))

    assert set(Lead.objects.filter(job=morning).values_list("tradesperson__username", flat=True)) == {"capfree"}
    assert set(Lead.objects.filter(job=later).values_list("tradesperson__username", flat=True)) == {"capbusy", "capfree"}


@pytest.mark.django_db
def test_pro_is_available_reads_the_projected_capacity(customer, other_customer):
    bob = pro("capbob")
    worker = worker_all_week(bob, start=time(9), end=time(12), buffer=0)
    monday = future_monday(9)
    appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=monday, duration_minutes=180, actor=customer)
    profile = TradespersonProfile.objects.get(user=bob)
    busy = post_job(other_customer, title="Busy morning", window_start=monday, window_end=monday + timedelta(hours=3))
    free = post_job(
        other_customer, title="Tuesday", window_start=monday + timedelta(days=1), window_end=monday + timedelta(days=1, hours=3)
    )
    open_ended = post_job(other_customer, title="Whenever")
    # Eventually consistent: until the booking is projected, the day counts as its plain hours.
    assert pro_is_available(profile=profile, job=busy)
    refresh_worker_days(worker.pk, [monday.date(), monday.date() + timedelta(days=1)])
    assert not pro_is_available(profile=profile, job=busy)
    assert pro_is_available(profile=profile, job=free)
    assert pro_is_available(profile=profile, job=open_ended)


@pytest.mark.django_db
def test_a_business_without_active_workers_counts_as_available(other_customer):
    grace = pro("capgrace")
    Worker.objects.filter(owner=grace).update(active=False)  # saving a business profile may have made the owner a worker
    monday = future_monday(9)
    job = post_job(other_customer, window_start=monday, window_end=monday + timedelta(hours=2))
    assert pro_is_available(profile=TradespersonProfile.objects.get(user=grace), job=job)
