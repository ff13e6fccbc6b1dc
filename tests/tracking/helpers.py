"""Builders for tracking tests: scheduled jobs through the real services, and GPS trips."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange  # type: ignore[import-untyped]
from django.utils import timezone

from jobs.models import Job
from marketplace.accounts.models import User
from scheduling.models import Appointment, Worker
from scheduling.services import appointment_book
from tests.factories import pro
from tests.scheduling.helpers import awarded_job, future_monday, worker_all_week
from tracking.services import rate_limit_key

# The job's location in tests.factories.post_job.
JOB_LAT, JOB_LNG = 51.5, -0.12


@dataclass
class Scheduled:
    job: Job
    owner: User
    worker: Worker
    appointment: Appointment


def scheduled_job(customer: User, owner_name: str = "bobtrack") -> Scheduled:
    owner = pro(owner_name)
    worker = worker_all_week(owner)
    job = awarded_job(customer, owner)
    appointment = appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=120, actor=customer)
    job.refresh_from_db()
    reset_rate_limit(worker)
    return Scheduled(job, owner, worker, appointment)


def reset_rate_limit(worker: Worker) -> None:
    """Start the worker's ping counter at zero (ids repeat across runs of a fresh test database)."""
    window = int(time.time() // 60)
    cache.delete_many([rate_limit_key(worker.pk, w) for w in (window - 1, window, window + 1)])


def move_appointment(appointment: Appointment, starts_at: datetime, minutes: int = 120) -> None:
    """Put the appointment at ``starts_at`` (tests of lateness need it near now, whatever the hour)."""
    ends_at = starts_at + timedelta(minutes=minutes)
    during = DateTimeTZRange(starts_at, ends_at + timedelta(minutes=appointment.travel_buffer_minutes), "[)")
    Appointment.objects.filter(pk=appointment.pk).update(starts_at=starts_at, ends_at=ends_at, during=during)


def north_of_job(km: float) -> tuple[float, float]:
    """A point ``km`` due north of the job."""
    return JOB_LAT + km / 111.195, JOB_LNG


def ping(lat: float, lng: float, at: datetime, accuracy: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {"lat": lat, "lng": lng, "accuracy_m": accuracy, "recorded_at": at.astimezone(UTC).isoformat(), **extra}


def trip(*, start_km: float, step_km: float, every_s: int, count: int, start: datetime) -> list[dict[str, Any]]:
    """``count`` pings driving straight at the job from ``start_km`` north, ``step_km`` closer each ``every_s``."""
    pings = []
    for i in range(count):
        lat, lng = north_of_job(max(start_km - i * step_km, 0.0))
        pings.append(ping(lat, lng, start + timedelta(seconds=i * every_s)))
    return pings


def close(a: float, b: float, tolerance: float) -> bool:
    return math.isclose(a, b, abs_tol=tolerance)


def set_off(s: Scheduled, minutes_ago: int = 10) -> None:
    """The tradesperson taps "on the way" (dated ``minutes_ago``, so a test trip can start in the past)."""
    from tracking.models import Visit
    from tracking.services import visit_act

    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    Visit.objects.filter(job=s.job).update(on_the_way_at=timezone.now() - timedelta(minutes=minutes_ago))
