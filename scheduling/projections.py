"""Kafka handler that tells people about appointments (consumer ``schedule-live``).

Every ``appointment.*`` and ``dependency.*`` event is pushed, after commit, to:

- ``job.<job_id>``: the customer's job page;
- ``user.<tradesperson_id>``: the tradesperson's own pages (their view of the job);
- ``calendar.<tradesperson_id>``: the business's week calendar and dispatch board.

and the person on the other side of a change is notified (both sides when the system flags
a conflict or a reminder is due), with times in the recipient's own time zone.  Each
notification's key includes the event id (reminders: the appointment time and kind), so a
redelivered event never notifies twice.  The capacity read model lives in
:mod:`scheduling.capacity` (consumer ``capacity``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime

from jobs.models import Job
from jobs.streams import job_stream
from marketplace.accounts.models import User
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.notifications.services import notify
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from .streams import calendar_stream


def _when(value: str | None, zone: str) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone or "UTC")).strftime("%a %d %b, %H:%M")


def _zone_of(user_id: int) -> str:
    return User.objects.filter(pk=user_id).values_list("time_zone", flat=True).first() or "UTC"


class ScheduleLiveHandler(EventHandler):
    def _push(self, event: Envelope) -> Job | None:
        d = event.data
        job = Job.objects.filter(pk=d["job_id"]).first()
        push.send_on_commit(job_stream(d["job_id"]), event, d)
        tradesperson_id = d.get("tradesperson_id")
        if tradesperson_id is not None:
            push.send_on_commit(user_stream(tradesperson_id), event, d)
            push.send_on_commit(calendar_stream(tradesperson_id), event, d)
        return job

    def _tell(self, recipient_id: int, event: Envelope, kind: str, title: str, body: str, url: str, key: str | None = None) -> None:
        notify(recipient_id=recipient_id, kind=kind, title=title, body=body, url=url, object_key=key or f"event:{event.event_id}")

    def _tell_other_side(self, event: Envelope, job: Job, kind: str, title: str, body_for: str) -> None:
        """Notify whoever did not make the change (``by``): the customer or the tradesperson.

        ``body_for`` may use ``{when}``, ``{before}`` (the previous start) and ``{zone}``, in the recipient's zone.
        """
        d = event.data
        if d.get("by") == "tradesperson":
            recipient_id, url = job.customer_id, f"/jobs/{job.pk}/"
        else:
            recipient_id, url = d["tradesperson_id"], f"/leads/{job.pk}/"
        zone = _zone_of(recipient_id)
        body = body_for.format(when=_when(d["starts_at"], zone), before=_when(d.get("previous_starts_at"), zone), zone=zone)
        self._tell(recipient_id, event, kind, title, body, url)

    def on_appointment_booked(self, event: Envelope) -> None:
        job = self._push(event)
        if job is not None:
            self._tell_other_side(event, job, "appointment_booked", f"Appointment booked: “{job.title}”", "{when} ({zone}).")

    def on_appointment_rescheduled(self, event: Envelope) -> None:
        job = self._push(event)
        if job is not None:
            before = event.data.get("previous_starts_at")
            self._tell_other_side(
                event,
                job,
                "appointment_rescheduled",
                f"Appointment moved: “{job.title}”",
                "Now {when} ({zone}), was {before}." if before else "Now {when} ({zone}).",
            )

    def on_appointment_cancelled(self, event: Envelope) -> None:
        job = self._push(event)
        if job is not None:
            reason = event.data.get("reason") or ""
            self._tell_other_side(
                event,
                job,
                "appointment_cancelled",
                f"Appointment cancelled: “{job.title}”",
                "The appointment on {when} ({zone}) was cancelled." + (f" {reason}" if reason else ""),
            )

    def on_appointment_flagged(self, event: Envelope) -> None:
        job = self._push(event)
        if job is None:
            return
        d = event.data
        for recipient_id, url in ((job.customer_id, f"/jobs/{job.pk}/"), (d["tradesperson_id"], f"/leads/{job.pk}/")):
            zone = _zone_of(recipient_id)
            options = ", ".join(_when(s, zone) for s in d.get("suggestions", []))
            body = d.get("reason", "") + (f" Free times after it: {options} ({zone})." if options else "")
            self._tell(recipient_id, event, "appointment_flagged", f"Check the appointment for “{job.title}”", body, url)

    def on_appointment_unflagged(self, event: Envelope) -> None:
        self._push(event)

    def on_appointment_proposed(self, event: Envelope) -> None:
        job = self._push(event)
        if job is None:
            return
        d = event.data
        zone = _zone_of(d["customer_id"])
        times = "; ".join(_when(s, zone) for s in d["starts"])
        self._tell(
            d["customer_id"],
            event,
            "appointment_proposed",
            f"Pick a time for “{job.title}”",
            f"Your tradesperson proposed: {times} ({zone}).",
            f"/jobs/{job.pk}/",
        )

    def on_appointment_confirmed(self, event: Envelope) -> None:
        job = self._push(event)
        if job is not None:
            zone = _zone_of(event.data["tradesperson_id"])
            self._tell(
                event.data["tradesperson_id"],
                event,
                "appointment_confirmed",
                f"Customer confirmed “{job.title}”",
                f"{_when(event.data['starts_at'], zone)} ({zone}) is confirmed.",
                f"/leads/{job.pk}/",
            )

    def on_appointment_reminder(self, event: Envelope) -> None:
        job = self._push(event)
        if job is None:
            return
        d = event.data
        soon = "tomorrow" if d["kind"] == "24h" else "in an hour"
        key = f"reminder:{d['appointment_id']}:{d['kind']}:{d['starts_at']}"
        zone = _zone_of(d["customer_id"])
        ask = " Already confirmed, thank you." if d.get("confirmed") else " Please confirm you'll be there."
        self._tell(
            d["customer_id"],
            event,
            "appointment_reminder",
            f"Reminder: “{job.title}” {soon}",
            f"{_when(d['starts_at'], zone)} ({zone}).{ask}",
            f"/jobs/{job.pk}/#appointment",
            key,
        )
        zone = _zone_of(d["tradesperson_id"])
        self._tell(
            d["tradesperson_id"],
            event,
            "appointment_reminder",
            f"Reminder: “{job.title}” {soon}",
            f"{_when(d['starts_at'], zone)} ({zone}), {job.place or 'at the customer'}.",
            f"/leads/{job.pk}/",
            key,
        )

    def on_dependency_added(self, event: Envelope) -> None:
        push.send_on_commit(job_stream(event.data["job_id"]), event, event.data)

    on_dependency_removed = on_dependency_added
