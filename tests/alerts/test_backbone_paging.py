"""Backbone paging: outbox age, relay stall, dead-letter growth and consumer lag raise staff alerts, with hysteresis.

Real Postgres rows (outbox, dead letters), a real webhook receiver, the real broker for lag; the clock pinned.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from alerts import backbone as paging
from alerts.backbone import backbone_check, thresholds
from alerts.models import Alert, AlertDelivery, BackboneCondition
from marketplace.events.models import DeadLetter, OutboxEvent
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import post_job

from .helpers import alert_settings, webhook_server

pytestmark = pytest.mark.django_db(transaction=True)  # webhooks are sent on commit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIGURES = {
    "CONSUMER_LAG": {"raise": (1, 1000), "clear": (0.5, 500)},
    "OUTBOX_AGE_S": {"raise": (60, 300), "clear": (15, 120)},
    "DEAD_LETTER_GROWTH": {"raise": (3, 10), "clear": (1, 5)},
    "RELAY_STALLED_S": {"raise": (10_000, 20_000), "clear": (1, 1)},  # out of the way unless a test sets it
}


def paging_settings(**figures: Any) -> override_settings:
    return override_settings(BACKBONE_PAGING={"FOR_S": 60, "DEAD_LETTER_WINDOW_S": 600, "FIGURES": {**FIGURES, **figures}})


@pytest.fixture
def no_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about Postgres figures: no Kafka read (the lag test below asks the real broker)."""
    monkeypatch.setattr(paging, "read_lag", lambda fresh=False: ([], "", 0.0))


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def check(seconds: float) -> dict[str, int]:
    with at(T0 + timedelta(seconds=seconds)):
        return backbone_check()


def backbone_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind=Alert.Kind.BACKBONE).order_by("pk"))


def test_an_old_unpublished_event_pages_once_and_resolves_only_below_the_clear_level(customer, no_lag) -> None:
    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url), paging_settings():
        with at(T0):
            post_job(customer, title="Leaking tap")
        with at(T0 + timedelta(seconds=100)):
            post_job(customer, title="Dripping shower")
        assert check(30) == {"raised": 0, "escalated": 0, "resolved": 0}  # 30 s: below 60
        assert check(70)["raised"] == 0  # at the raise level, not yet for FOR_S
        assert BackboneCondition.objects.get(name="outbox_age").breached_since == T0 + timedelta(seconds=70)
        assert check(130)["raised"] == 1  # held for 60 s
        assert check(140)["raised"] == 0 and check(150)["raised"] == 0  # one alert, however often it is seen
        [alert] = backbone_alerts()
        assert alert.severity == "warning" and alert.status == "open" and alert.context["figure"] == "outbox_age"
        assert alert.title == "Events are not reaching Kafka: the oldest unpublished event has waited 2 min"
        assert "/admin/backbone/" in alert.body

        # The relay publishes the first event: the oldest now waited 60 s, below the raise level but
        # above the clear level (15 s), so the alert stays open.
        OutboxEvent.objects.filter(created_at__lt=T0 + timedelta(seconds=50)).update(published_at=T0 + timedelta(seconds=155))
        assert check(160)["resolved"] == 0
        assert BackboneCondition.objects.get(name="outbox_age").level == "warning"
        OutboxEvent.objects.update(published_at=T0 + timedelta(seconds=165))  # drained
        assert check(170) == {"raised": 0, "escalated": 0, "resolved": 1}
        assert check(180)["resolved"] == 0
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_by is None and alert.resolution == "Back below 15 (0 now)."
    assert len(hook.bodies) == 2  # raised, resolved
    assert "[Warning] Events are not reaching Kafka" in hook.bodies[0]["text"]
    assert hook.bodies[1]["text"].startswith(":white_check_mark: [Warning] Resolved: Events are not reaching Kafka")
    assert "Back below 15 (0 now)." in hook.bodies[1]["text"]
    assert set(AlertDelivery.objects.filter(alert=alert).values_list("channel", "status")) == {
        ("webhook", "sent"),
        ("webhook-resolved", "sent"),
    }
    assert BackboneCondition.objects.get(name="outbox_age").alert is None


def age_oldest(seconds: float, now: datetime) -> None:
    OutboxEvent.objects.filter(published_at__isnull=True).update(created_at=now - timedelta(seconds=seconds))


def test_a_figure_flapping_around_the_raise_level_pages_once(customer, no_lag) -> None:
    with at(T0):
        post_job(customer)
    with paging_settings():
        # Spikes above the raise level shorter than FOR_S page nobody.
        for second, age in [(0, 70), (30, 20), (60, 80), (90, 50)]:
            with at(T0 + timedelta(seconds=second)):
                age_oldest(age, timezone.now())
                assert backbone_check()["raised"] == 0
        # Held above it: one alert; then it swings between the clear (15) and raise (60) levels and back up.
        for second, age in [(120, 90), (150, 95), (180, 100), (210, 30), (240, 90), (270, 20), (300, 70), (330, 16)]:
            with at(T0 + timedelta(seconds=second)):
                age_oldest(age, timezone.now())
                backbone_check()
        assert len(backbone_alerts()) == 1 and backbone_alerts()[0].status == "open"
        with at(T0 + timedelta(seconds=360)):
            age_oldest(10, timezone.now())
            assert backbone_check()["resolved"] == 1
        # A new episode later is a new alert (the old one stays resolved).
        for second in (400, 470):
            with at(T0 + timedelta(seconds=second)):
                age_oldest(200, timezone.now())
                backbone_check()
    alerts = backbone_alerts()
    assert [a.status for a in alerts] == ["resolved", "open"]


def test_a_worsening_figure_escalates_the_same_alert_to_critical(customer, no_lag) -> None:
    with at(T0):
        post_job(customer)
    with webhook_server() as hook, alert_settings(WEBHOOK_URL=hook.url), paging_settings():
        assert check(70)["raised"] == 0
        assert check(130)["raised"] == 1
        assert check(310)["escalated"] == 0  # critical from 300 s, for FOR_S first
        assert check(370)["escalated"] == 1
        assert check(400) == {"raised": 0, "escalated": 0, "resolved": 0}
    [alert] = backbone_alerts()
    assert alert.severity == "critical" and alert.status == "open" and "waited 6 min" in alert.title
    assert [b["text"].split("\n")[0] for b in hook.bodies] == [
        ":warning: [Warning] Events are not reaching Kafka: the oldest unpublished event has waited 2 min",
        ":rotating_light: [Critical] Now critical: Events are not reaching Kafka: the oldest unpublished event has waited 6 min",
    ]


def dead_letter(n: int) -> None:
    DeadLetter.objects.create(consumer="matching", topic="marketplace.jobs", partition=0, offset=n, error="boom", error_class="ValueError")


def test_dead_letter_growth_pages_and_resolves_once_the_window_is_quiet(no_lag) -> None:
    with paging_settings():
        with at(T0):
            dead_letter(1)
            dead_letter(2)
        assert check(10)["raised"] == 0  # two is below three
        with at(T0 + timedelta(seconds=20)):
            dead_letter(3)
        assert check(30)["raised"] == 0
        assert check(90)["raised"] == 1
        [alert] = backbone_alerts()
        assert alert.title == "3 new dead letter(s) in the last 10 min" and alert.severity == "warning"
        DeadLetter.objects.update(status=DeadLetter.Status.REDRIVEN)  # re-driving does not hide the growth
        assert check(300)["resolved"] == 0
        assert check(601)["resolved"] == 0  # two still inside the window: not below the clear level (1)
        assert check(621)["resolved"] == 1  # the window has passed them all
    assert backbone_alerts()[0].status == "resolved"


def test_a_relay_that_publishes_nothing_while_rows_wait_pages(customer, no_lag) -> None:
    stalled = {"RELAY_STALLED_S": {"raise": (60, 600), "clear": (5, 5)}, "OUTBOX_AGE_S": {"raise": (10_000, 20_000), "clear": (1, 1)}}
    with at(T0 - timedelta(hours=1)):
        post_job(customer)
    OutboxEvent.objects.update(published_at=T0 - timedelta(minutes=59))  # it published an hour ago, then
    with at(T0):
        post_job(customer, title="Waiting")
        post_job(customer, title="Waiting too")
    with paging_settings(**stalled):
        assert check(50)["raised"] == 0
        assert check(70)["raised"] == 0  # the condition has to hold for FOR_S
        assert check(130)["raised"] == 1
        [alert] = backbone_alerts()
        assert alert.context["figure"] == "relay_stalled"
        assert alert.title == "The outbox relay has published nothing for 2 min while 2 event(s) wait"
        # It publishes one: progress, the stall is over (the outbox age rule watches a slow relay).
        oldest = OutboxEvent.objects.filter(published_at__isnull=True).order_by("id").first()
        assert oldest is not None
        OutboxEvent.objects.filter(pk=oldest.pk).update(published_at=T0 + timedelta(seconds=139))
        assert check(140)["resolved"] == 1


def test_clear_levels_must_be_below_raise_levels() -> None:
    with paging_settings(OUTBOX_AGE_S={"raise": (60, 300), "clear": (60, 120)}), pytest.raises(ImproperlyConfigured):
        thresholds("OUTBOX_AGE_S")


def test_consumer_lag_pages_per_group_and_resolves_when_it_catches_up(broker, customer) -> None:
    post_job(customer)
    relay_all()  # on Kafka, consumed by nobody yet: every group reading marketplace.jobs is behind
    with paging_settings(), override_settings(BACKBONE_PAGING={"FOR_S": 0, "DEAD_LETTER_WINDOW_S": 600, "FIGURES": FIGURES}):
        counts = backbone_check(fresh_lag=True)
        names = set(BackboneCondition.objects.exclude(level="ok").values_list("name", flat=True))
        assert "consumer_lag:jobs-board" in names and counts["raised"] == len(names)
        assert "consumer_lag:jobs-board" in names
        jobs_board = Alert.objects.get(context__figure="consumer_lag:jobs-board")
        assert jobs_board.title.startswith("Consumer group “jobs-board” is ") and jobs_board.status == "open"
        assert backbone_check(fresh_lag=True)["raised"] == 0

        runner = ConsumerRunner(get_consumer("jobs-board"))
        run_consumer_until(lambda: runner.stats.processed + runner.stats.duplicates >= 1, runner=runner)
        backbone_check(fresh_lag=True)
    jobs_board.refresh_from_db()
    assert jobs_board.status == "resolved"
    assert BackboneCondition.objects.get(name="consumer_lag:jobs-board").level == "ok"


def test_lag_conditions_are_left_alone_while_kafka_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "read_lag", lambda fresh=False: ([("matching", "marketplace.jobs", 0, 500)], "", 0.0))
    with paging_settings(), override_settings(BACKBONE_PAGING={"FOR_S": 0, "DEAD_LETTER_WINDOW_S": 600, "FIGURES": FIGURES}):
        assert backbone_check()["raised"] == 1
        monkeypatch.setattr(paging, "read_lag", lambda fresh=False: ([], "Kafka did not answer: timed out", 0.0))
        assert backbone_check() == {"raised": 0, "escalated": 0, "resolved": 0}
    condition = BackboneCondition.objects.get(name="consumer_lag:matching")
    assert condition.level == "warning" and condition.alert is not None and condition.alert.status == "open"


def test_the_clock_pages_and_the_admin_shows_the_conditions(customer, no_lag, admin_client) -> None:
    with at(T0 - timedelta(hours=1)):
        post_job(customer)
    out = StringIO()
    with paging_settings(), override_settings(BACKBONE_PAGING={"FOR_S": 0, "DEAD_LETTER_WINDOW_S": 600, "FIGURES": FIGURES}), at(T0):
        call_command("clock", "--once", stdout=out)
    assert "backbone paging: raised 1, escalated 0, resolved 0 alert(s)" in out.getvalue()
    page = admin_client.get("/admin/alerts/backbonecondition/")
    assert page.status_code == 200 and "outbox_age" in page.content.decode()
