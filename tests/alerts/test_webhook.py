"""Alerts reach a real incoming webhook (a local HTTP server) after the commit, once; failures are retried with backoff."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertDelivery
from alerts.services import alert_raise, deliveries_send_pending
from alerts.webhook import WebhookError, post
from tests.factories import post_job
from tests.support import free_port

from .helpers import alert_settings, replay_alerts, webhook_server

pytestmark = pytest.mark.django_db(transaction=True)  # deliveries are sent on commit


def test_an_alert_is_posted_to_the_webhook_as_slack_json_after_the_commit(customer) -> None:
    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url):
        post_job(customer, title="Burst pipe")
        replay_alerts()
        replay_alerts()  # a replay raises nothing, so posts nothing
    [body] = hook.bodies
    alert = Alert.objects.get(kind=Alert.Kind.FIRST_JOB)
    assert "Burst pipe" in body["text"] and "[Info]" in body["text"]
    assert "Customer: cust_a (1 job(s), account 0 day(s) old)" in body["text"]
    assert body["text"].endswith(f"/admin/alerts/alert/{alert.pk}/change/")
    assert [block["type"] for block in body["blocks"]] == ["section", "section", "context"]
    assert "*New customer's first job" in body["blocks"][0]["text"]["text"]
    delivery = AlertDelivery.objects.get(alert=alert)
    assert (delivery.status, delivery.attempts, delivery.last_error, delivery.url) == ("sent", 1, "", hook.url)
    assert delivery.sent_at is not None


def test_a_rolled_back_alert_sends_nothing(customer) -> None:
    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url), pytest.raises(RuntimeError), transaction.atomic():
        alert_raise(kind="first_job", severity="info", key="x", title="never", occurred_at=timezone.now())
        raise RuntimeError("the consumer's batch failed")
    assert hook.requests == 0 and not Alert.objects.exists() and not AlertDelivery.objects.exists()


def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(customer) -> None:
    with webhook_server(fail_next=1) as hook, alert_settings(WEBHOOK_URL=hook.url, WEBHOOK_RETRY_BASE_S=60):
        post_job(customer)
        replay_alerts()
        delivery = AlertDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error.startswith("WebhookError: HTTP 500 from the webhook: server_error")
        assert delivery.next_attempt_at is not None and 55 < (delivery.next_attempt_at - timezone.now()).total_seconds() <= 60
        assert deliveries_send_pending() == 0  # not due yet: backoff
        AlertDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert deliveries_send_pending() == 1
        assert deliveries_send_pending() == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert hook.requests == 2 and len(hook.bodies) == 1


def test_after_the_last_attempt_it_fails_and_staff_retry_it_from_admin(customer, admin_client) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    with alert_settings(WEBHOOK_URL=dead, WEBHOOK_MAX_ATTEMPTS=1):
        post_job(customer)
        replay_alerts()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 1, None)
    assert "could not reach the webhook" in delivery.last_error
    assert deliveries_send_pending() == 0  # failed for good: the clock leaves it

    page = admin_client.get(reverse("admin:alerts_alertdelivery_changelist"), {"status__exact": "failed"})
    assert page.status_code == 200 and "could not reach the webhook" in page.content.decode()
    with webhook_server() as hook:
        AlertDelivery.objects.update(url=hook.url)  # the operator fixed the endpoint
        response = admin_client.post(
            reverse("admin:alerts_alertdelivery_changelist"), {"action": "retry", "_selected_action": [delivery.pk]}, follow=True
        )
    assert "Sent 1 of 1 delivery(ies)." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2) and len(hook.bodies) == 1


def test_the_send_action_delivers_an_alert_raised_before_the_webhook_was_configured(customer, admin_client) -> None:
    post_job(customer)
    replay_alerts()
    alert = Alert.objects.get()
    assert not AlertDelivery.objects.exists()
    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url):
        admin_client.post(reverse("admin:alerts_alert_changelist"), {"action": "send_to_webhook", "_selected_action": [alert.pk]})
    assert len(hook.bodies) == 1 and AlertDelivery.objects.get().status == "sent"


def test_alerts_below_the_minimum_severity_stay_in_the_inbox(customer) -> None:
    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url, WEBHOOK_MIN_SEVERITY="warning"):
        post_job(customer)
        replay_alerts()
    assert Alert.objects.count() == 1 and not AlertDelivery.objects.exists() and hook.requests == 0


def test_a_url_that_is_not_http_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(WebhookError, match="must start with http:// or https://"):
        post("file:///etc/passwd", {"text": "x"}, timeout=1)


def test_the_staff_alerts_command_sends_waiting_deliveries_now(customer) -> None:
    with webhook_server(fail_next=1) as hook, alert_settings(WEBHOOK_URL=hook.url):
        post_job(customer)
        replay_alerts()
        assert AlertDelivery.objects.get().status == "pending"
        out = StringIO()
        call_command("staff_alerts", stdout=out)
        assert "sent 0 webhook delivery(ies)" in out.getvalue()  # still backing off
        call_command("staff_alerts", "--now", stdout=out)
        assert "sent 1 webhook delivery(ies); 0 failed for good" in out.getvalue()
    assert AlertDelivery.objects.get().status == "sent" and len(hook.bodies) == 1
