"""Kafka handler that tells people about appointments (consumer ``schedule-live``).

Every ``appointment.*`` and ``dependency.*`` event is pushed, after commit, to:

- ``job.<job_id>``: the customer's job page;
- ``user.<tradesperson_id>``: the tradesperson's own pages (their view of the job);
- ``calendar.<tradesperson_id>``: the business's week calendar and dispatch board.

and the person on the other side of a change is notified (both sides when the system flags
a conflict or a reminder is due), with times in the recipient's own time zone.  A customer's reminder
text says how to reply; the reply (``sms.received``) is acted on by :mod:`scheduling.services.sms_replies`.  Each
notification's key includes the event id (reminders: the appointment time and kind), so a
redelivered event never notifies twice.  The capacity read model lives in
:mod:`scheduling.capacity` (consumer ``capacity``).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateparse import parse_datetime

from jobs.models import Job
from jobs.streams import job_stream
from marketplace.accounts.models import User
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.notifications import events as sms_events
from marketplace.notifications.services import notify
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import events as ev
from .services import sms_reply_handle
from .streams import calendar_stream


class _JobRef(TypedDict):
    """The key every appointment.* and dependency.* event shares (a subset of each payload)."""

    job_id: int


class _Change(TypedDict):
    """What ``appointment.booked`` / ``rescheduled`` / ``cancelled`` share that ``_tell_other_side`` reads."""

    tradesperson_id: NotRequired[int]
    starts_at: str
    by: NotRequired[str]


def _when(value: str | None, zone: str) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone or "UTC")).strftime("%a %d %b, %H:%M")


def _zone_of(user_id: int) -> str:
    return User.objects.filter(pk=user_id).values_list("time_zone", flat=True).first() or "UTC"


class ScheduleLiveHandler(EventHandler):
    def _push(self, event: Envelope, tradesperson_id: int | None) -> Job | None:
        """Push the event's data to the job page and, given the tradesperson (the event's, if it names one), to theirs."""
        job_id = event.payload(_JobRef)["job_id"]
        job = Job.objects.filter(pk=job_id).first()
        push.send_on_commit(job_stream(job_id), event, event.data)
        if tradesperson_id is not None:
            push.send_on_commit(user_stream(tradesperson_id), event, event.data)
            push.send_on_commit(calendar_stream(tradesperson_id), event, event.data)
        return job

    def _tell(
        self,
        recipient_id: int,
        event: Envelope,
        kind: str,
        title: str,
        body: str,
        url: str,
        key: str | None = None,
        sms_extra: str = "",
    ) -> None:
        notify(
            recipient_id=recipient_id,
            kind=kind,
            title=title,
            body=body,
            url=url,
            object_key=key or f"event:{event.event_id}",
            sms_extra=sms_extra,
        )

    def _tell_other_side(
        self, event: Envelope, job: Job, kind: str, title: str, body_for: str, previous_starts_at: str | None = None
    ) -> None:
        """Notify whoever did not make the change (``by``): the customer or the tradesperson.

        ``body_for`` may use ``{when}``, ``{before}`` (the previous start) and ``{zone}``, in the recipient's zone.
        """
        data = event.payload(_Change)
        if data.get("by") == "tradesperson":
            recipient_id, url = job.customer_id, f"/jobs/{job.pk}/"
        else:
            # The schema lets these events omit the tradesperson: then it is the job's awarded one (the worker's business).
            tradesperson_id = data.get("tradesperson_id") or job.tradesperson_id
            if tradesperson_id is None:
                return  # nobody on the tradesperson's side to tell
            recipient_id, url = tradesperson_id, f"/leads/{job.pk}/"
        zone = _zone_of(recipient_id)
        body = body_for.format(when=_when(data["starts_at"], zone), before=_when(previous_starts_at, zone), zone=zone)
        self._tell(recipient_id, event, kind, title, body, url)

    def on_appointment_booked(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentBookedV1)
        job = self._push(event, data.get("tradesperson_id"))
        if job is not None:
            self._tell_other_side(event, job, "appointment_booked", f"Appointment booked: “{job.title}”", "{when} ({zone}).")

    def on_appointment_rescheduled(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentRescheduledV1)
        job = self._push(event, data.get("tradesperson_id"))
        if job is not None:
            before = data["previous_starts_at"]
            self._tell_other_side(
                event,
                job,
                "appointment_rescheduled",
                f"Appointment moved: “{job.title}”",
                "Now {when} ({zone}), was {before}." if before else "Now {when} ({zone}).",
                before,
            )

    def on_appointment_cancelled(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentCancelledV1)
        job = self._push(event, data.get("tradesperson_id"))
        if job is not None:
            reason = data.get("reason") or ""
            self._tell_other_side(
                event,
                job,
                "appointment_cancelled",
                f"Appointment cancelled: “{job.title}”",
                "The appointment on {when} ({zone}) was cancelled." + (f" {reason}" if reason else ""),
            )

    def on_appointment_flagged(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentFlaggedV1)
        job = self._push(event, data.get("tradesperson_id"))
        if job is None:
            return
        # The schema lets appointment.flagged omit the tradesperson: then it is the job's awarded one.
        tradesperson_id = data.get("tradesperson_id") or job.tradesperson_id
        for recipient_id, url in ((job.customer_id, f"/jobs/{job.pk}/"), (tradesperson_id, f"/leads/{job.pk}/")):
            if recipient_id is None:
                continue
            zone = _zone_of(recipient_id)
            options = ", ".join(_when(s, zone) for s in data["suggestions"])
            body = data["reason"] + (f" Free times after it: {options} ({zone})." if options else "")
            self._tell(recipient_id, event, "appointment_flagged", f"Check the appointment for “{job.title}”", body, url)

    def on_appointment_unflagged(self, event: Envelope) -> None:
        # The event names no tradesperson (never has): the job's awarded one, so a cleared flag leaves their
        # calendar and dispatch board as live as the flag reached them.
        job_id = event.payload(_JobRef)["job_id"]
        tradesperson_id = Job.objects.filter(pk=job_id).values_list("tradesperson_id", flat=True).first()
        self._push(event, tradesperson_id)

    def on_appointment_proposed(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentProposedV1)
        job = self._push(event, data["tradesperson_id"])
        if job is None:
            return
        zone = _zone_of(data["customer_id"])
        times = "; ".join(_when(s, zone) for s in data["starts"])
        self._tell(
            data["customer_id"],
            event,
            "appointment_proposed",
            f"Pick a time for “{job.title}”",
            f"Your tradesperson proposed: {times} ({zone}).",
            f"/jobs/{job.pk}/",
        )

    def on_appointment_confirmed(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentConfirmedV1)
        job = self._push(event, data["tradesperson_id"])
        if job is not None:
            zone = _zone_of(data["tradesperson_id"])
            self._tell(
                data["tradesperson_id"],
                event,
                "appointment_confirmed",
                f"Customer confirmed “{job.title}”",
                f"{_when(data['starts_at'], zone)} ({zone}) is confirmed.",
                f"/leads/{job.pk}/",
            )

    def on_appointment_reminder(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentReminderV1)
        job = self._push(event, data["tradesperson_id"])
        if job is None:
            return
        soon = "tomorrow" if data["kind"] == "24h" else "in an hour"
        key = f"reminder:{data['appointment_id']}:{data['kind']}:{data['starts_at']}"
        zone = _zone_of(data["customer_id"])
        ask = " Already confirmed, thank you." if data.get("confirmed") else " Please confirm you'll be there."
        self._tell(
            data["customer_id"],
            event,
            "appointment_reminder",
            f"Reminder: “{job.title}” {soon}",
            f"{_when(data['starts_at'], zone)} ({zone}).{ask}",
            f"/jobs/{job.pk}/#appointment",
            key,
            # Texts only: a reply "C" or "R" comes back as sms.received (on_sms_received).
            sms_extra="" if data.get("confirmed") else settings.SMS_INBOUND["REMINDER_HINT"],
        )
        zone = _zone_of(data["tradesperson_id"])
        self._tell(
            data["tradesperson_id"],
            event,
            "appointment_reminder",
            f"Reminder: “{job.title}” {soon}",
            f"{_when(data['starts_at'], zone)} ({zone}), {job.place or 'at the customer'}.",
            f"/leads/{job.pk}/",
            key,
        )

    def on_appointment_reschedule_requested(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentRescheduleRequestedV1)
        job = self._push(event, data.get("tradesperson_id"))
        tradesperson_id = data.get("tradesperson_id") or (job.tradesperson_id if job is not None else None)
        if job is None or tradesperson_id is None:
            return
        zone = _zone_of(tradesperson_id)
        how = " by text" if data["via"] == "sms" else ""
        self._tell(
            tradesperson_id,
            event,
            "appointment_reschedule_requested",
            f"Customer asked for another time: “{job.title}”",
            f"The customer replied{how} that {_when(data['starts_at'], zone)} ({zone}) does not suit them. Move it or offer other times.",
            f"/leads/{job.pk}/",
        )

    def on_sms_received(self, event: Envelope) -> None:
        """A text came in: "C" confirms, "R" asks for another time (their events push the pages), else help."""
        sms_reply_handle(inbound_id=event.payload(sms_events.SmsReceivedV1)["inbound_id"])

    def on_dependency_added(self, event: Envelope) -> None:
        push.send_on_commit(job_stream(event.payload(_JobRef)["job_id"]), event, event.data)

    on_dependency_removed = on_dependency_added
