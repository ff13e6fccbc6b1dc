"""Reads for scheduling: a worker's availability as the pure model in :mod:`scheduling.slots` sees it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from . import slots
from .models import Appointment, TimeOff, Worker, WorkingHours

# How far ahead suggestions look for free slots.
SEARCH_HORIZON = timedelta(days=28)


def worker_availability(*, worker: Worker, start: datetime, end: datetime) -> slots.Availability:
    """Hours, time off and booked appointments of ``worker`` that can matter for ``[start, end)``."""
    margin = timedelta(days=2)
    hours = [slots.Hours(h.weekday, h.start, h.end) for h in WorkingHours.objects.filter(worker=worker)]
    off = [
        slots.Interval(t.starts_at, t.ends_at)
        for t in TimeOff.objects.filter(worker=worker, ends_at__gt=start - margin, starts_at__lt=end + margin)
    ]
    booked = [
        slots.Booked(a.starts_at, a.ends_at, timedelta(minutes=a.travel_buffer_minutes), key=a.pk)
        for a in Appointment.objects.filter(
            worker=worker, status=Appointment.Status.BOOKED, ends_at__gt=start - margin, starts_at__lt=end + margin
        )
    ]
    return slots.Availability(
        time_zone=worker.time_zone,
        hours=hours,
        travel_buffer=timedelta(minutes=worker.travel_buffer_minutes),
        time_off=off,
        booked=booked,
    )


def next_free_slots(
    *, worker: Worker, duration: timedelta, after: datetime, count: int = 3, ignore: Appointment | None = None
) -> list[datetime]:
    """The first ``count`` free starts (UTC) for a job of ``duration`` at or after ``after``, up to four weeks ahead."""
    now = timezone.now()
    after = max(after, now)
    end = after + SEARCH_HORIZON
    availability = worker_availability(worker=worker, start=after, end=end)
    return slots.free_slots(
        availability,
        duration=duration,
        window_start=after,
        window_end=end,
        now=now,
        limit=count,
        ignore=ignore.pk if ignore else None,
    )


def workers_of(*, owner_id: int) -> list[Worker]:
    return list(Worker.objects.filter(owner_id=owner_id, active=True))


def booked_appointment(*, job_id: int) -> Appointment | None:
    return Appointment.objects.filter(job_id=job_id, status=Appointment.Status.BOOKED).select_related("worker").first()
