"""Builders for scheduling tests: awarded jobs through the real services, and workers with known hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from jobs.models import Job
from marketplace.accounts.models import User
from scheduling.models import Worker
from scheduling.services import worker_for_owner, worker_set_hours
from tests.factories import post_job
from tests.jobs.helpers import offer
from tests.quotes.helpers import accept, submit


def awarded_job(customer: User, pro_user: User, **kw: object) -> Job:
    job = post_job(customer, **kw)
    offer(job, pro_user)
    accept(submit(job, pro_user), customer)
    job.refresh_from_db()
    assert job.status == Job.Status.AWARDED
    return job


def worker_all_week(owner: User, *, start: time = time(8), end: time = time(18), buffer: int = 30, zone: str = "Europe/London") -> Worker:
    worker = worker_for_owner(owner=owner)
    worker.time_zone, worker.travel_buffer_minutes = zone, buffer
    worker.save(update_fields=["time_zone", "travel_buffer_minutes"])
    worker_set_hours(worker=worker, actor=owner, hours=[(d, start, end) for d in range(7)])
    return worker


def future_monday(hour: int = 10, weeks: int = 2) -> datetime:
    """A Monday in a coming January at ``hour`` UTC (London is on UTC then), ``weeks - 2`` weeks after its first.

    Always more than 60 days ahead, so it lies past the capacity projection's 28-day horizon on any date
    (in December, next January would not).
    """
    now = datetime.now(UTC)
    year = now.year + 1 if now.month < 11 else now.year + 2
    day = datetime(year, 1, 4, hour, tzinfo=UTC)
    return day + timedelta(days=(7 - day.weekday()) % 7 + 7 * (weeks - 2))
