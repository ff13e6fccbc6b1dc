"""Replies to reminders by text, through the real webhook and the schedule-live handler: "C" confirms,
"R" asks for another time (flagged for the business until it is moved), anything else or an unknown
number gets help; every answer is an SMS sent only after the handler's transaction commits, once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.notifications.channels import render_sms
from marketplace.notifications.inbound import SIGNATURE_HEADER, simulated_request
from marketplace.notifications.models import InboundSms, Notification, SmsReply
from marketplace.notifications.services import preferences_update
from scheduling.models import Appointment
from scheduling.projections import ScheduleLiveHandler
from scheduling.services import appointment_book, appointment_reschedule, reminders_send
from scheduling.services.sms_replies import meaning_of
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db

PHONE = "+447700900123"


@pytest.fixture
def sms_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SMS_BACKEND = "marketplace.notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SMS_INBOUND = {**settings.SMS_INBOUND, "SECRET": "test-inbound-secret"}
    return tmp_path / "sms"


def texts(directory: Path) -> list[str]:
    return sorted(p.read_text() for p in directory.glob("*.sms")) if directory.exists() else []


@pytest.fixture
def reminded(customer: Any) -> Appointment:
    """A booked appointment of ``customer`` (mobile PHONE) whose 24 h reminder went out."""
    preferences_update(user=customer, phone=PHONE, important_email=True, important_sms=True, updates_email=True, updates_sms=False)
    bob = pro("bobsms")
    job = awarded_job(customer, bob)
    start = future_monday(10)
    appointment = appointment_book(job=job, worker=worker_all_week(bob), starts_at=start, duration_minutes=60, actor=customer)
    assert reminders_send(now=start - timedelta(hours=23)) == 1
    return appointment


def text_in(client: Client, body: str, *, sender: str = PHONE, message_id: str = "") -> InboundSms:
    payload, signature = simulated_request(from_number=sender, body=body, message_id=message_id)
    response = client.post("/webhooks/sms/simulated/", data=payload, content_type="application/json", headers={SIGNATURE_HEADER: signature})
    assert response.status_code == 200
    return InboundSms.objects.latest("id")


def handle_latest(event_type: str, capture: Any, sms_dir: Path) -> None:
    """Feed the newest outbox event of ``event_type`` to schedule-live, as the consumer would; nothing is texted before commit."""
    raw = OutboxEvent.objects.filter(event_type=event_type).latest("id").envelope
    before = texts(sms_dir)
    with capture(execute=True):
        ScheduleLiveHandler().handle(from_dict(raw))
        assert texts(sms_dir) == before  # still inside the transaction: no SMS has left


def test_words_people_text() -> None:
    assert [meaning_of(t) for t in ("C", " c. ", "Yes!", "confirm", "R", "reschedule", "r?", "maybe", "")] == [
        "confirm", "confirm", "confirm", "confirm", "reschedule", "reschedule", "reschedule", "unknown", "unknown"
    ]  # fmt: skip


def test_the_reminder_text_says_how_to_reply_the_email_does_not(customer: Any, reminded: Appointment) -> None:
    raw = OutboxEvent.objects.filter(event_type="appointment.reminder").latest("id").envelope
    ScheduleLiveHandler().handle(from_dict(raw))
    reminder = Notification.objects.get(recipient=customer, kind="appointment_reminder")
    assert render_sms(reminder).count("Reply C to confirm or R to ask for another time.") == 1
    assert "Reply C" not in reminder.body  # the bell and the email have a button instead


def test_c_confirms_by_sms_and_answers_once(
    client: Client, customer: Any, reminded: Appointment, sms_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    inbound = text_in(client, "C", message_id="sim_c")
    handle_latest("sms.received", django_capture_on_commit_callbacks, sms_dir)
    reminded.refresh_from_db()
    assert reminded.confirmed_at is not None and reminded.confirmed_via == "sms"
    assert OutboxEvent.objects.filter(event_type="appointment.confirmed", key=str(reminded.job_id)).count() == 1
    sent = texts(sms_dir)
    assert len(sent) == 1 and f"To: {PHONE}" in sent[0] and "is confirmed" in sent[0]
    inbound.refresh_from_db()
    assert inbound.outcome == f"confirmed appointment {reminded.pk}"
    # The same event again (a redelivery) answers nothing twice.
    handle_latest("sms.received", django_capture_on_commit_callbacks, sms_dir)
    assert len(texts(sms_dir)) == 1 and SmsReply.objects.count() == 1


def test_r_asks_for_another_time_until_the_business_moves_it(
    client: Client, customer: Any, reminded: Appointment, sms_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    text_in(client, "R")
    handle_latest("sms.received", django_capture_on_commit_callbacks, sms_dir)
    reminded.refresh_from_db()
    assert reminded.reschedule_requested_at is not None and reminded.confirmed_at is None
    event = OutboxEvent.objects.get(event_type="appointment.reschedule_requested")
    assert event.envelope["data"]["via"] == "sms" and event.envelope["data"]["by"] == "customer"
    assert "asked your tradesperson to offer you another time" in texts(sms_dir)[0]
    # schedule-live tells the business.
    handle_latest("appointment.reschedule_requested", django_capture_on_commit_callbacks, sms_dir)
    bob = reminded.worker.owner
    assert Notification.objects.get(recipient=bob, kind="appointment_reschedule_requested").url == f"/leads/{reminded.job_id}/"
    # The business moves it: the request is answered.
    appointment_reschedule(appointment=reminded, starts_at=reminded.starts_at + timedelta(hours=2), actor=bob)
    reminded.refresh_from_db()
    assert reminded.reschedule_requested_at is None


def test_an_unknown_text_and_an_unknown_number_get_help(
    client: Client, customer: Any, reminded: Appointment, sms_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    text_in(client, "what time is it?")
    handle_latest("sms.received", django_capture_on_commit_callbacks, sms_dir)
    text_in(client, "C", sender="+447700900999")
    handle_latest("sms.received", django_capture_on_commit_callbacks, sms_dir)
    reminded.refresh_from_db()
    assert reminded.confirmed_at is None  # a stranger's C confirms nothing
    replies = {r.to: r.text for r in SmsReply.objects.all()}
    assert replies[PHONE].startswith("Sorry, we didn't understand. Reply C to confirm")
    assert replies[PHONE].endswith(f"/jobs/{reminded.job_id}/#appointment")
    assert replies["+447700900999"].startswith("Sorry, we didn't understand.") and "/jobs/" not in replies["+447700900999"]
    assert len(texts(sms_dir)) == 2 and all(r.status == "sent" for r in SmsReply.objects.all())
