"""The ``staff-alerts`` consumer through the real relay, broker and runner: alerts once, webhook once, redelivery harmless."""

from __future__ import annotations

import pytest

from alerts.models import Alert, AlertDelivery
from marketplace.errors import ServiceError
from marketplace.events.models import ProcessedEvent
from marketplace.events.registry import CONSUMERS, get_consumer
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import offer, post_job, pro
from tests.quotes.helpers import accept, submit
from tests.support import ROOT

from .helpers import alert_settings, webhook_server

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = get_consumer("staff-alerts")


def test_the_consumer_is_registered_and_in_the_procfile() -> None:
    assert CONSUMERS["staff-alerts"].handler_path == "alerts.projections.StaffAlertsHandler"
    assert "python manage.py consume staff-alerts" in dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    ).get("consumer-staff-alerts", "")


def test_alerts_from_the_broker_are_raised_and_posted_once_even_when_every_event_comes_again(broker, customer) -> None:
    job = post_job(customer, title="Dripping radiator")
    bob = pro("bobpipe")
    offer(job, bob)
    with pytest.raises(ServiceError):
        accept(submit(job, bob), customer, token="tok_decline")
    relay_all()

    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url):
        run_consumer_until(lambda: Alert.objects.count() == 2 and len(hook.bodies) == 2, SPEC)
        assert sorted(Alert.objects.values_list("kind", flat=True)) == ["first_job", "payment_failed"]
        applied = ProcessedEvent.objects.filter(consumer="staff-alerts").count()

        # A consumer group that lost its inbox (or a new group) reads every event again.
        ProcessedEvent.objects.filter(consumer="staff-alerts").delete()
        run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="staff-alerts").count() == applied, SPEC, group="alerts-again")

    assert Alert.objects.count() == 2 and AlertDelivery.objects.filter(status="sent").count() == 2
    assert len(hook.bodies) == 2 and hook.requests == 2
    texts = sorted(body["text"] for body in hook.bodies)
    assert "Dripping radiator" in texts[0] and "Dripping radiator" in texts[1]
