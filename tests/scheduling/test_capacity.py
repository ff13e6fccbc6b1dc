"""Matching asks scheduling whether a tradesperson has room in a job's window (jobs.selectors.pro_is_available)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from jobs.models import TradespersonProfile
from jobs.selectors import pro_is_available
from scheduling.services import appointment_book
from tests.factories import post_job
from tests.jobs.helpers import pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def test_a_fully_booked_window_is_not_available_and_a_free_one_is(customer, other_customer):
    bob = pro("capbob")
    worker = worker_all_week(bob, start=time(9), end=time(12), buffer=0)
    monday = future_monday(9)
    # Book Monday 09:00-12:00 solid.
    appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=monday, duration_minutes=180, actor=customer)
    profile = TradespersonProfile.objects.get(user=bob)
    busy = post_job(other_customer, title="Busy morning", window_start=monday, window_end=monday + timedelta(hours=3))
    free = post_job(
        other_customer, title="Tuesday", window_start=monday + timedelta(days=1), window_end=monday + timedelta(days=1, hours=3)
    )
    open_ended = post_job(other_customer, title="Whenever")
    assert not pro_is_available(profile=profile, job=busy)
    assert pro_is_available(profile=profile, job=free)
    assert pro_is_available(profile=profile, job=open_ended)


def test_a_business_without_workers_counts_as_available(other_customer):
    grace = pro("capgrace")
    monday = future_monday(9)
    job = post_job(other_customer, window_start=monday, window_end=monday + timedelta(hours=2))
    assert pro_is_available(profile=TradespersonProfile.objects.get(user=grace), job=job)
