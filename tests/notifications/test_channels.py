"""Email and SMS channels of notify(): planned in the notifying transaction, sent after commit, exactly once,
retried when the provider fails (real SMTP refusal, a real unwritable SMS directory), following preferences."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.notifications.channels import render_sms
from marketplace.notifications.models import Delivery, Notification, NotificationPreferences
from marketplace.notifications.services import deliveries_send_pending, notify, preferences_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SMS_BACKEND = "marketplace.notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


def texts(directory: Path) -> list[str]:
    return sorted(p.read_text() for p in directory.glob("*.sms")) if directory.exists() else []


def with_phone(user: User, phone: str = "+447700900123", **prefs: bool) -> User:
    defaults = {"important_email": True, "important_sms": True, "updates_email": True, "updates_sms": False}
    preferences_update(user=user, phone=phone, **{**defaults, **prefs})
    return user


def tell(user: User, *, kind: str = "bid", key: str = "1", **kw: Any) -> Notification | None:
    args = {"title": "New bid on “Leaky tap”", "body": "Bob Ltd bid £120.", "url": "/jobs/7/", **kw}
    return notify(recipient_id=user.pk, kind=kind, object_key=key, **args)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_an_update_is_emailed_after_commit_with_html_and_text(
    customer: User, django_capture_on_commit_callbacks: Any, sms_dir: Path
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(customer)
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert notification is not None
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["a@example.com"] and email.subject == "New bid on “Leaky tap”"
    assert "Bob Ltd bid £120." in email.body and "http://localhost:8000/jobs/7/" in email.body
    assert isinstance(email, EmailMultiAlternatives)
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html" and 'href="http://localhost:8000/jobs/7/"' in str(html)
    assert "/notifications/settings/" in email.body  # how to change what we send
    delivery = Delivery.objects.get(notification=notification)
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "sent", 1)
    assert texts(sms_dir) == []  # no phone: no text


def test_important_kinds_are_texted_by_default_updates_are_not(
    customer: User, django_capture_on_commit_callbacks: Any, sms_dir: Path
) -> None:
    with_phone(customer)
    with django_capture_on_commit_callbacks(execute=True):
        tell(customer, kind="appointment_reminder", title="Reminder: “Leaky tap” tomorrow", body="Mon 10:00.")
        tell(customer, kind="bid", key="2")
    sent = texts(sms_dir)
    assert len(sent) == 1 and "To: +447700900123" in sent[0] and "Reminder: “Leaky tap” tomorrow Mon 10:00." in sent[0]
    assert len(mail.outbox) == 2
    with_phone(customer, updates_sms=True, important_email=False)
    with django_capture_on_commit_callbacks(execute=True):
        tell(customer, kind="bid", key="3")
        tell(customer, kind="payment_failed", key="4", title="Your payment didn't go through")
    assert len(texts(sms_dir)) == 3
    assert [m.subject for m in mail.outbox][2:] == ["New bid on “Leaky tap”"]  # important emails now off


def test_the_same_notification_twice_sends_once(customer: User, django_capture_on_commit_callbacks: Any, sms_dir: Path) -> None:
    with_phone(customer)
    with django_capture_on_commit_callbacks(execute=True):
        assert tell(customer, kind="job_won") is not None
        assert tell(customer, kind="job_won") is None
    assert len(mail.outbox) == 1 and len(texts(sms_dir)) == 1
    assert Delivery.objects.count() == 2
    assert deliveries_send_pending() == 0  # and a retry pass finds nothing to do
    assert len(mail.outbox) == 1


def test_a_refused_email_stays_pending_and_the_command_sends_it_later(
    customer: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(customer)
    delivery = Delivery.objects.get(notification=notification)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "ConnectionRefusedError" in delivery.last_error and delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > timezone.now()  # backoff: not due yet
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("send_pending_notifications", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert mail.outbox == []
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    call_command("send_pending_notifications", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    call_command("send_pending_notifications", "--now", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(mail.outbox) == 1  # sent is sent


def test_a_failing_sms_backend_is_retried_then_given_up(
    customer: User, settings: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.SMS_BACKEND = "marketplace.notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(blocker)  # mkdir fails: a real provider error
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "MAX_ATTEMPTS": 2}
    with_phone(customer)
    with django_capture_on_commit_callbacks(execute=True):
        tell(customer, kind="payment_failed")
    sms = Delivery.objects.get(channel="sms")
    assert sms.status == "pending" and "FileExistsError" in sms.last_error
    assert deliveries_send_pending(now_due=True) == 0
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("failed", 2)
    assert Delivery.objects.get(channel="email").status == "sent"
    # A failed delivery is not retried again (an operator can reset it in admin).
    settings.SMS_FILE_PATH = str(tmp_path / "ok")
    assert deliveries_send_pending(now_due=True) == 0 and texts(tmp_path / "ok") == []


def test_staff_retry_failed_sends_from_admin_and_the_next_pass_sends_them(
    customer: User, settings: Any, tmp_path: Path, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.SMS_BACKEND = "marketplace.notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(blocker)
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "MAX_ATTEMPTS": 1}
    with_phone(customer)
    with django_capture_on_commit_callbacks(execute=True):
        tell(customer, kind="payment_failed")
    sms, email = Delivery.objects.get(channel="sms"), Delivery.objects.get(channel="email")
    assert (sms.status, email.status) == ("failed", "sent")

    settings.SMS_FILE_PATH = str(tmp_path / "ok")  # the provider is back
    staff = User.objects.create_user("ops", "ops@example.com", "pw-123456-x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(
        "/admin/notifications/delivery/",
        {"action": "retry_failed", "_selected_action": [sms.pk, email.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 failed send(s) will be retried" in response.content.decode()
    assert "1 selected were not failed" in response.content.decode()
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("pending", 0)
    assert Delivery.objects.get(pk=email.pk).status == "sent"  # a sent row is never sent again
    assert deliveries_send_pending() == 1
    assert len(texts(tmp_path / "ok")) == 1


def test_a_send_whose_process_died_is_retried_after_the_lease(customer: User, sms_dir: Path) -> None:
    tell(customer)  # in the test transaction: on_commit never runs, as if the process died before sending
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=timezone.now())
    assert deliveries_send_pending() == 0  # still within the lease: someone may be sending it
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert deliveries_send_pending() == 1 and len(mail.outbox) == 1


def test_no_email_without_an_address_and_none_when_turned_off(django_capture_on_commit_callbacks: Any) -> None:
    nomail = User.objects.create_user("nomail", password="pw-123456-x")
    quiet = User.objects.create_user("quiet", "quiet@example.com", "pw-123456-x")
    preferences_update(user=quiet, phone="", important_email=False, important_sms=False, updates_email=False, updates_sms=True)
    with django_capture_on_commit_callbacks(execute=True):
        tell(nomail)
        tell(quiet)
    assert mail.outbox == [] and Delivery.objects.count() == 0
    assert Notification.objects.count() == 2  # in-app is always on


def test_user_text_is_escaped_in_html_and_times_are_in_the_recipients_zone(customer: User, django_capture_on_commit_callbacks: Any) -> None:
    customer.time_zone = "America/New_York"
    customer.save()
    with django_capture_on_commit_callbacks(execute=True):
        tell(customer, title="<script>alert(1)</script> bid", body="<img src=x onerror=alert(1)>")
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html and "<img src=x" not in html
    assert re.search(r"\d\d:\d\d E[SD]T", html), "the sent time should be in New York time"
    assert "<img src=x onerror=alert(1)>" in mail.outbox[0].body  # the text part is plain text, not escaped


def test_sms_text_is_short_and_links_back(customer: User) -> None:
    n = Notification.objects.create(recipient=customer, kind="x", title="T", body="word " * 200, url="/jobs/1/", dedupe_key="k")
    assert len(render_sms(n)) <= 320 and render_sms(n).endswith("…")
    n.body = "Short."
    assert render_sms(n) == "T Short. http://localhost:8000/jobs/1/"


def test_a_bad_phone_number_is_refused(customer: User) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        preferences_update(
            user=customer, phone="07700 900123", important_email=True, important_sms=True, updates_email=True, updates_sms=False
        )
    assert not NotificationPreferences.objects.filter(user=customer).exists()
    prefs = preferences_update(
        user=customer, phone="+44 7700 900123", important_email=True, important_sms=True, updates_email=True, updates_sms=False
    )
    assert prefs.phone == "+447700900123"
