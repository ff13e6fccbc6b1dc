"""The inbound-SMS webhook: only a signed, fresh request is stored; each provider message once, with one
``sms.received`` in the outbox; stored texts go with the retention and with their sender's erasure."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.events.models import OutboxEvent
from marketplace.notifications.inbound import SIGNATURE_HEADER, sign, simulated_request
from marketplace.notifications.models import InboundSms
from marketplace.notifications.services import preferences_update
from marketplace.privacy.core import purge_notifications
from marketplace.privacy.services import user_erase

pytestmark = pytest.mark.django_db

URL = "/webhooks/sms/simulated/"


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.SMS_INBOUND = {**settings.SMS_INBOUND, "SECRET": "test-inbound-secret", "TOLERANCE_S": 300}


def post(client: Client, body: bytes, signature: str, url: str = URL) -> Any:
    return client.post(url, data=body, content_type="application/json", headers={SIGNATURE_HEADER: signature})


def test_the_route_is_the_documented_one() -> None:
    assert reverse("sms-webhook", args=["simulated"]) == URL


def test_a_signed_text_is_stored_once_and_emits_one_event(client: Client) -> None:
    body, signature = simulated_request(from_number="+447700900123", body="C", message_id="sim_1")
    first = post(client, body, signature)
    assert first.status_code == 200 and first.json() == {"outcome": "received"}
    again = post(client, body, signature)  # the provider delivers it again
    assert again.status_code == 200 and again.json() == {"outcome": "duplicate"}
    inbound = InboundSms.objects.get()
    assert (inbound.provider, inbound.message_id, inbound.from_number, inbound.body) == ("simulated", "sim_1", "+447700900123", "C")
    events = OutboxEvent.objects.filter(event_type="sms.received")
    assert [e.envelope["data"]["inbound_id"] for e in events] == [inbound.pk]
    assert "+447700900123" not in str(events[0].envelope)  # no phone number in the event log


def test_a_bad_signature_is_refused_with_403_json_and_nothing_stored(client: Client) -> None:
    body, _ = simulated_request(from_number="+447700900123", body="C")
    forged = sign(body, secret="not-the-secret", timestamp=int(time.time()))
    response = post(client, body, forged)
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_signature"
    tampered_body = body.replace(b'"C"', b'"R"')
    _, signature = simulated_request(from_number="+447700900123", body="C")
    assert post(client, tampered_body, signature).status_code == 403
    assert post(client, body, "").json()["error"]["code"] == "bad_header"
    assert not InboundSms.objects.exists() and not OutboxEvent.objects.filter(event_type="sms.received").exists()


def test_a_stale_signature_is_refused_so_a_capture_cannot_be_replayed(client: Client) -> None:
    with time_machine.travel(1_900_000_000, tick=False):
        body, signature = simulated_request(from_number="+447700900123", body="C", message_id="sim_old")
    with time_machine.travel(1_900_000_000 + 301, tick=False):
        response = post(client, body, signature)
        assert response.status_code == 403 and response.json()["error"]["code"] == "stale"
    with time_machine.travel(1_900_000_000 + 299, tick=False):
        assert post(client, body, signature).status_code == 200  # inside the window: accepted


def test_another_provider_is_not_found_and_get_is_not_allowed(client: Client) -> None:
    body, signature = simulated_request(from_number="+447700900123", body="C")
    assert post(client, body, signature, url="/webhooks/sms/twilio/").status_code == 404
    assert client.get(URL).status_code == 405


def test_texts_are_purged_with_the_notifications_and_erased_with_the_sender(client: Client, customer: Any, settings: Any) -> None:
    preferences_update(
        user=customer, phone="+447700900123", important_email=True, important_sms=True, updates_email=True, updates_sms=False
    )
    with time_machine.travel(timezone.now() - timedelta(days=settings.PRIVACY["NOTIFICATION_RETENTION_DAYS"] + 1)):
        post(client, *simulated_request(from_number="+447700900999", body="old"))
    post(client, *simulated_request(from_number="+447700900999", body="recent"))
    post(client, *simulated_request(from_number="+447700900123", body="C"))
    assert purge_notifications() >= 1
    assert sorted(InboundSms.objects.values_list("body", flat=True)) == ["C", "recent"]
    user_erase(user=customer, actor=customer)
    assert list(InboundSms.objects.values_list("body", flat=True)) == ["recent"]  # a stranger's text stays until its time
