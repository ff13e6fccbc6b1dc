"""Builders for scheduling tests: awarded jobs through the real services, and workers with known hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from jobs.models import Job
from marketplace.accounts.models import User
from scheduling.models import Worker
from scheduling.services import worker_for_owner, worker_set_hours
from tests.factories import offer, post_job
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
    """A winter Monday (December to February) at ``hour`` UTC, plus ``weeks - 2`` weeks.

    Winter: London is on UTC and New York on EST, away from either's clock change (the US's falls in early
    November and mid-March).  On any date it lies at least five weeks ahead (past the capacity projection's
    28-day horizon) and well inside a year (the time-off horizon), with room for a few more weeks.
    """
    now = datetime.now(UTC)
    day = datetime(now.year, now.month, now.day, hour, tzinfo=UTC) + timedelta(days=35)
    day += timedelta(days=(7 - day.weekday()) % 7)
    while day.month not in (12, 1, 2):
        day += timedelta(days=7)
    return day + timedelta(days=7 * (weeks - 2))
