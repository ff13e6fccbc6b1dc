"""The delivery worker (``manage.py deliver``, marketplace/notifications/outgoing.py): email and SMS leave from it, woken
by the commit that planned them, never from the process that committed (a web request, a consumer's batch).

Real child process, real Postgres LISTEN/NOTIFY, the file SMS backend and the file email backend."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction

from marketplace.accounts.models import User
from marketplace.notifications.models import Delivery
from marketplace.notifications.services import notify, preferences_update
from tests.support import manage, subprocess_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_mode(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.NOTIFICATIONS["DELIVERY"] = "worker"
    settings.SMS_BACKEND = "marketplace.notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    yield tmp_path / "sms"
    settings.NOTIFICATIONS["DELIVERY"] = "after_commit"


def texted(directory: Path) -> list[str]:
    return sorted(p.read_text() for p in directory.glob("*.sms")) if directory.exists() else []


def tell(user: User, key: str) -> None:
    notify(recipient_id=user.pk, kind="appointment_reminder", object_key=key, title="Tomorrow 10:00", body="Bob is booked.")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def reachable(customer: User) -> User:
    preferences_update(
        user=customer, phone="+447700900123", important_email=True, important_sms=True, updates_email=False, updates_sms=False
    )
    return customer


def test_the_committing_process_sends_nothing_even_when_the_mail_server_is_down(worker_mode: Path, reachable: User, settings) -> None:
    """What isolates a consumer batch from a slow or dead provider: its commit plans deliveries and returns."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 5
    with transaction.atomic():
        tell(reachable, "1")
    rows = list(Delivery.objects.values_list("channel", "status", "attempts"))
    assert sorted(rows) == [("email", "pending", 0), ("sms", "pending", 0)]  # not even tried here
    assert texted(worker_mode) == []


def test_a_rolled_back_transaction_sends_nothing_and_the_worker_sends_what_commits(worker_mode: Path, reachable: User, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with contextlib.suppress(RuntimeError), transaction.atomic():
        tell(reachable, "gone")
        raise RuntimeError("the batch failed")
    with transaction.atomic():
        tell(reachable, "kept")
    call_command("deliver", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert len(texted(worker_mode)) == 1 and len(mail.outbox) == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_the_worker_process_is_woken_by_the_commit_not_by_its_poll(worker_mode: Path, reachable: User, tmp_path: Path) -> None:
    """Polling once a minute, the worker still sends within seconds of the commit: the NOTIFY woke it."""
    env = subprocess_env(
        NOTIFICATIONS_WORKER_POLL_S="60",
        SMS_BACKEND="marketplace.notifications.sms.FileSmsBackend",
        SMS_FILE_PATH=str(worker_mode),
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        HEALTH_DIR=str(tmp_path / "health"),
    )
    worker = manage("deliveries-test", "deliver", env=env).start()
    try:
        beat = tmp_path / "health" / "deliveries.json"
        wait_until(lambda: beat.exists() and '"ok"' in beat.read_text(), timeout=60, message="the worker to listen")
        with transaction.atomic():
            tell(reachable, "woken")
            assert texted(worker_mode) == []
        wait_until(lambda: len(texted(worker_mode)) == 1, timeout=30, message="the worker to send the text after the commit")
        assert "Tomorrow 10:00" in texted(worker_mode)[0]
    finally:
        assert worker.terminate() == 0  # SIGTERM: it finishes the send in hand and exits cleanly


class _Sink:
    """A local SMTP server (aiosmtpd) noting which connection carried each message; refuses mail to refuse@…"""

    def __init__(self) -> None:
        self.peers: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("refuse@"):
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return "250 OK"


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[_Sink]:
    from aiosmtpd.controller import Controller

    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=closed_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield sink
    controller.stop()


def test_a_pass_sends_its_emails_over_one_connection_and_a_refusal_fails_only_its_own(
    worker_mode: Path, smtp_sink: _Sink, django_user_model: Any
) -> None:
    from marketplace.notifications.services import deliveries_send_due

    people = [django_user_model.objects.create_user(f"mail{i}", email=f"mail{i}@example.com", password="x") for i in range(3)]
    people[1].email = "refuse@example.com"
    people[1].save(update_fields=["email"])
    for person in people:
        tell(person, f"one-session-{person.pk}")
    assert deliveries_send_due() == 2
    assert len(peers := smtp_sink.peers) == 2
    # The refusal closed the first session; the third email opened a second one. Without the refusal it is one.
    statuses = dict(Delivery.objects.filter(channel="email").values_list("to", "status"))
    assert statuses == {"mail0@example.com": "sent", "refuse@example.com": "pending", "mail2@example.com": "sent"}
    assert peers[0] != peers[1]

    for i in range(3, 6):
        tell(django_user_model.objects.create_user(f"mail{i}", email=f"mail{i}@example.com", password="x"), f"one-session-{i}")
    smtp_sink.peers.clear()
    assert deliveries_send_due() == 3
    assert len(smtp_sink.peers) == 3 and len(set(smtp_sink.peers)) == 1
