"""Replies to reminders by text: "C" confirms the appointment, "R" asks for another time, anything else gets help.

Called by the ``schedule-live`` handler for ``sms.received`` (the webhook only verified and stored the text),
inside the handler's transaction: the confirmation or request, its event and the answer SMS row commit
together, and the answer is sent after that commit (:func:`marketplace.notifications.services.sms_reply`),
never inside the batch.  A redelivered event finds the reply already there and answers nothing twice.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from marketplace.errors import ServiceError
from marketplace.notifications.channels import absolute_url
from marketplace.notifications.models import InboundSms
from marketplace.notifications.services import sms_reply

from ..models import Appointment
from ..selectors import appointment_for_sms_reply
from .reminders import appointment_confirm, appointment_request_reschedule

CONFIRM_WORDS = frozenset({"c", "y", "yes", "ok", "confirm", "confirmed"})
RESCHEDULE_WORDS = frozenset({"r", "reschedule", "change", "another time", "move"})


def meaning_of(text: str) -> str:
    """``confirm``, ``reschedule`` or ``unknown`` for what someone texted (case, spaces and punctuation ignored)."""
    words = " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
    if words in CONFIRM_WORDS:
        return "confirm"
    if words in RESCHEDULE_WORDS:
        return "reschedule"
    return "unknown"


def _help(link: str) -> str:
    return f"{settings.SMS_INBOUND['HELP_TEXT']} {link}"


def _when(appointment: Appointment, zone: str) -> str:
    return f"{appointment.starts_at.astimezone(ZoneInfo(zone or 'UTC')):%a %d %b, %H:%M} ({zone or 'UTC'})"


def sms_reply_handle(*, inbound_id: int) -> str:
    """Act on the stored text ``inbound_id`` and plan its one answer; returns the outcome (also kept on the row).

    Emits ``appointment.confirmed`` or ``appointment.reschedule_requested`` through the scheduling services,
    acting as the customer whose mobile number sent it.  Idempotent: a text already answered does nothing.
    """
    inbound = InboundSms.objects.filter(pk=inbound_id).first()
    if inbound is None or hasattr(inbound, "reply"):
        return "already handled"
    appointment = appointment_for_sms_reply(phone=inbound.from_number, now=timezone.now())
    if appointment is None:
        sms_reply(inbound=inbound, text=_help(absolute_url("/")), outcome="unknown sender: help sent")
        return "unknown sender"
    customer = appointment.job.customer
    page = absolute_url(f"/jobs/{appointment.job_id}/#appointment")
    meaning = meaning_of(inbound.body)
    try:
        if meaning == "confirm":
            appointment = appointment_confirm(appointment=appointment, actor=customer, via="sms")
            text = f"Thanks, your appointment for “{appointment.job.title}” on {_when(appointment, customer.time_zone)} is confirmed."
            outcome = f"confirmed appointment {appointment.pk}"
        elif meaning == "reschedule":
            appointment_request_reschedule(appointment=appointment, actor=customer, via="sms")
            text = f"Thanks, we've asked your tradesperson to offer you another time for “{appointment.job.title}”. {page}"
            outcome = f"asked for another time for appointment {appointment.pk}"
        else:
            text, outcome = _help(page), "not understood: help sent"
    except ServiceError as exc:
        # A refusal (the appointment is already over, say): its message is written for people.
        text, outcome = f"{exc.message} {page}", f"refused: {exc.code}"
    sms_reply(inbound=inbound, text=text, outcome=outcome)
    return outcome
