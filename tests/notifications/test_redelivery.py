"""Done when: a redelivered event produces no second email or SMS.

Real broker, relay and consumer runner: the ``job-live`` consumer notifies the customer (new bid,
deposit held) and the tradesperson (job won: important, so texted too).  Then its inbox is wiped and
the same events are consumed again by a fresh group, as a replay after losing the inbox would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from marketplace.events.models import ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.notifications.models import Delivery, Notification
from marketplace.notifications.services import preferences_update
from tests.events.pipeline import relay_all, run_consumer_until
from tests.quotes.test_payments import booked

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_redelivered_event_sends_no_second_email_or_sms(broker: Any, customer: Any, settings: Any, tmp_path: Path) -> None:
    settings.SMS_BACKEND = "marketplace.notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    job, bob, _ = booked(customer, name="bobredeliver")
    bob.email = "bob@example.com"
    bob.save()
    preferences_update(user=bob, phone="+447700900999", important_email=True, important_sms=True, updates_email=True, updates_sms=False)
    relay_all()
    spec = get_consumer("job-live")

    def all_sent() -> bool:
        return Notification.objects.filter(recipient=bob, kind="job_won").exists() and not Delivery.objects.exclude(status="sent").exists()

    run_consumer_until(all_sent, spec)
    emails = sorted((m.to[0], m.subject) for m in mail.outbox)
    sms = sorted(p.read_text() for p in tmp_path.glob("*.sms"))
    assert ("bob@example.com", f"You won “{job.title}”") in emails
    assert any(to == "a@example.com" for to, _ in emails)  # the customer heard about the bid and the deposit
    assert len(sms) == 1 and "To: +447700900999" in sms[0] and "You won" in sms[0]
    deliveries = Delivery.objects.count()

    seen = ProcessedEvent.objects.filter(consumer="job-live").count()
    ProcessedEvent.objects.filter(consumer="job-live").delete()
    stats = run_consumer_until(
        lambda: ProcessedEvent.objects.filter(consumer="job-live").count() >= seen, spec, group="job-live-redelivered"
    )
    assert stats.processed >= seen  # every event really was handled a second time...
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == emails  # ...and nobody got a second email
    assert sorted(p.read_text() for p in tmp_path.glob("*.sms")) == sms  # or a second text
    assert Delivery.objects.count() == deliveries
    after = len(list(tmp_path.glob("*.sms")))
    print(f"\nredelivered {stats.processed} events: emails {len(emails)} -> {len(mail.outbox)}, texts {len(sms)} -> {after}")
