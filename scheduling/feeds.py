"""A worker's appointments as an iCalendar feed (RFC 5545), for the secret URL ``/calendar/feed/<token>.ics``.

A phone or desktop calendar subscribes to the URL and polls it, so whoever holds the URL sees the
worker's work: each event names only the trade and the postcode district (no customer name,
phone, email or street), carries a stable UID per appointment (a reschedule moves the same
event) and is in UTC.  Cancelled appointments stay in the feed as ``STATUS:CANCELLED`` so a
subscribed calendar removes them instead of keeping a stale copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from icalendar import Calendar, Event

from jobs.places import outward_code

from .models import Appointment, Worker

PRODUCT_ID = "-//TradeLink//Worker calendar//EN"


def district(place: str) -> str:
    """The postcode district of a job's place label ("Islington N1" -> "N1"), or "" when it names none."""
    words = place.split()
    return (outward_code(words[-1]) or "") if words else ""


def summary(appointment: Appointment) -> str:
    """What the calendar shows: "Plumbing job, N1" (trade and district only)."""
    job = appointment.job
    where = district(job.place)
    return f"{job.trade.name} job, {where}" if where else f"{job.trade.name} job"


def worker_calendar(*, worker: Worker, appointments: list[Appointment], now: datetime, job_url: Callable[[int], str]) -> bytes:
    """The feed's body; ``job_url(job_id)`` is the absolute URL of the job's page for the business."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{worker.name}: TradeLink jobs")
    calendar.add("x-published-ttl", "PT1H")
    for appointment in appointments:
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@tradelink")
        event.add("dtstamp", now)
        event.add("last-modified", appointment.updated_at)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", summary(appointment))
        where = district(appointment.job.place)
        if where:
            event.add("location", where)
        url = job_url(appointment.job_id)
        event.add("url", url)
        event.add("description", f"Job {appointment.job_id}. Details: {url}")
        cancelled = appointment.status == Appointment.Status.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
