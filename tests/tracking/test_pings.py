"""The pings door: garbage, NaN, stale and future fixes, floods, strangers and finished visits are refused and never
published; good fixes reach the tracking topic keyed by worker."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from django.core.management import call_command
from django.utils import timezone

from jobs.services import job_cancel
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.envelope import decode_message
from marketplace.events.models import OutboxEvent
from tests.events.pipeline import read_topic
from tests.factories import pro
from tests.helpers import client_for, error_code
from tracking import services as tracking_services
from tracking.models import TrackPoint, Visit
from tracking.services import visit_act

from .helpers import Scheduled, ping, scheduled_job, set_off

pytestmark = pytest.mark.django_db

TOPIC = "marketplace.tracking"


def send(user: Any, job_id: int, pings: list[Any]) -> Any:
    return client_for(user).post("/api/tracking/pings/", {"job": job_id, "pings": pings}, format="json")


def on_the_way(customer: Any, name: str = "bobping") -> Scheduled:
    s = scheduled_job(customer, name)
    set_off(s, minutes_ago=3)
    return s


def nothing_written() -> tuple[int, int]:
    return OutboxEvent.objects.count(), TrackPoint.objects.count()


def test_good_pings_are_published_keyed_by_worker_and_bad_ones_listed(broker, customer) -> None:
    s = on_the_way(customer)
    now = timezone.now()
    pings: list[Any] = [
        ping(51.51, -0.12, now - timedelta(seconds=30), speed_mps=8.5, heading=180),
        ping(51.505, -0.12, now),
        "garbage",
        {"lat": "NaN", "lng": -0.12, "accuracy_m": 5, "recorded_at": now.isoformat()},
        {"lat": 51.5, "lng": "Infinity", "accuracy_m": 5, "recorded_at": now.isoformat()},
        {"lat": True, "lng": -0.12, "accuracy_m": 5, "recorded_at": now.isoformat()},
        ping(91, -0.12, now),
        ping(51.5, 181, now),
        ping(51.5, -0.12, now, accuracy=-1),
        {"lat": 51.5, "lng": -0.12, "recorded_at": now.isoformat()},
        ping(51.5, -0.12, now - timedelta(minutes=11)),
        ping(51.5, -0.12, now + timedelta(minutes=2)),
        {"lat": 51.5, "lng": -0.12, "accuracy_m": 5, "recorded_at": "yesterday"},
        {"lat": 51.5, "lng": -0.12, "accuracy_m": 5, "recorded_at": "2026-11-21T12:00:00"},  # no offset
        ping(51.5, -0.12, now, speed_mps=-3),
        ping(51.5, -0.12, now, heading=400),
        ping(51.5, -0.12, now - timedelta(minutes=5)),  # before setting off (3 minutes ago, with a minute's grace)
    ]
    before = nothing_written()
    response = send(s.owner, s.job.pk, pings)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (2, "bad_ping"),
        (3, "not_finite"),
        (4, "not_finite"),
        (5, "not_a_number"),
        (6, "out_of_range"),
        (7, "out_of_range"),
        (8, "bad_accuracy"),
        (9, "missing_field"),
        (10, "too_old"),
        (11, "in_future"),
        (12, "bad_time"),
        (13, "bad_time"),
        (14, "bad_speed"),
        (15, "bad_heading"),
        (16, "before_on_the_way"),
    ]
    assert all(r["message"] for r in body["rejected"])
    assert nothing_written() == before  # pings never touch Postgres in the request

    messages = read_topic(TOPIC, expect=2)
    assert len(messages) == 2
    assert {m.key() for m in messages} == {str(s.worker.pk).encode()}
    events = sorted((decode_message(m) for m in messages), key=lambda e: e.data["recorded_at"])
    assert [e.event_type for e in events] == ["tracking.ping", "tracking.ping"]
    first = events[0].data
    assert first["job_id"] == s.job.pk and first["worker_id"] == s.worker.pk and first["lat"] == 51.51
    assert first["speed_mps"] == 8.5 and first["heading"] == 180 and first["recorded_at"].endswith("Z")
    assert events[0].aggregate_type == "worker" and events[0].actor_id == s.owner.pk


def test_a_nan_literal_or_a_bad_batch_is_a_400(customer) -> None:
    s = on_the_way(customer)
    raw = '{"job": JOB, "pings": [{"lat": NaN, "lng": 0, "accuracy_m": 5, "recorded_at": "2026-11-21T12:00:00Z"}]}'.replace(
        "JOB", str(s.job.pk)
    )
    response = client_for(s.owner).post("/api/tracking/pings/", raw, content_type="application/json")
    assert response.status_code == 400
    assert send(s.owner, s.job.pk, []).status_code == 400
    too_many = [ping(51.5, -0.12, timezone.now())] * 101
    response = send(s.owner, s.job.pk, too_many)
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert client_for(s.owner).post("/api/tracking/pings/", {"pings": too_many[:1]}, format="json").status_code == 400


def test_a_flood_is_rate_limited_per_worker_and_nothing_is_published(broker, customer, settings) -> None:
    settings.TRACKING = {**settings.TRACKING, "RATE_LIMIT_PER_MINUTE": 5}
    s = on_the_way(customer)
    if time.time() % 60 > 55:  # both requests must fall in one window
        time.sleep(61 - time.time() % 60)
    now = timezone.now()
    flood = [ping(51.5 + i / 1000, -0.12, now - timedelta(seconds=i)) for i in range(6)]
    response = send(s.owner, s.job.pk, flood)
    assert response.status_code == 429 and error_code(response) == "rate_limited"
    assert int(response["Retry-After"]) >= 1 and "5 a minute" in response.json()["error"]["message"]

    from tests.tracking.helpers import reset_rate_limit

    reset_rate_limit(s.worker)
    assert send(s.owner, s.job.pk, flood[:3]).status_code == 202
    assert send(s.owner, s.job.pk, flood[3:5]).status_code == 202
    assert send(s.owner, s.job.pk, flood[5:]).status_code == 429
    assert len(read_topic(TOPIC, expect=5)) == 5  # the refused ones never reached Kafka


def test_only_the_assigned_worker_of_an_active_visit_may_send(customer, other_customer) -> None:
    s = scheduled_job(customer)
    now = timezone.now()
    one = [ping(51.51, -0.12, now)]
    before = nothing_written()

    response = send(s.owner, s.job.pk, one)  # not on the way yet
    assert response.status_code == 409 and error_code(response) == "visit_not_active"
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    before = nothing_written()
    assert send(customer, s.job.pk, one).status_code == 403
    assert send(other_customer, s.job.pk, one).status_code == 404
    assert send(pro("strangerping"), s.job.pk, one).status_code == 404
    assert send(None, s.job.pk, one).status_code == 403
    assert send(s.owner, 999999, one).status_code == 404

    for step in ("arrived", "start"):
        visit_act(job=s.job, actor=s.owner, action=step)
    before = nothing_written()
    response = send(s.owner, s.job.pk, one)  # working: no more positions
    assert response.status_code == 409 and error_code(response) == "visit_not_active"
    visit_act(job=s.job, actor=s.owner, action="complete")
    response = send(s.owner, s.job.pk, one)  # after completion
    assert response.status_code == 409 and "completed" in response.json()["error"]["message"]
    assert nothing_written()[1] == before[1]


def test_pings_from_before_setting_off_are_not_shared(broker, customer) -> None:
    s = scheduled_job(customer)
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    now = timezone.now()
    body = send(s.owner, s.job.pk, [ping(51.5, -0.12, now - timedelta(minutes=5)), ping(51.5, -0.12, now - timedelta(seconds=50))]).json()
    assert body["accepted"] == 1 and [r["code"] for r in body["rejected"]] == ["before_on_the_way"]


def test_a_cancelled_job_takes_no_pings(customer) -> None:
    s = on_the_way(customer)
    job_cancel(job=s.job, actor=customer, reason="not needed")
    response = send(s.owner, s.job.pk, [ping(51.51, -0.12, timezone.now())])
    assert response.status_code == 409 and error_code(response) == "visit_not_active"
    assert Visit.objects.get(job=s.job).stage == "on_the_way"
    json.dumps(response.json())


def test_while_the_broker_is_away_pings_get_a_503_to_retry_and_go_through_once_it_is_back(private_broker, customer) -> None:
    """The page keeps the fixes of a 503 and sends them again (static/js/visit.js); the next batch after the broker
    is back is published, without restarting the web server."""
    s = on_the_way(customer)
    assert send(s.owner, s.job.pk, [ping(51.508, -0.12, timezone.now())]).status_code == 202  # this process's producer is known
    private_broker.stop()
    started = time.monotonic()
    response = send(s.owner, s.job.pk, [ping(51.51, -0.12, timezone.now())])
    waited = time.monotonic() - started
    assert response.status_code == 503 and error_code(response) == "tracking_unavailable", response.content
    assert "keep the pings" in response.json()["error"]["message"] and int(response["Retry-After"]) >= 1
    print(f"\npings without a broker: 503 after {waited:.1f} s", flush=True)

    private_broker.start()
    call_command("kafka_topics", wait=20, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    response = send(s.owner, s.job.pk, [ping(51.512, -0.12, timezone.now())])
    assert response.status_code == 202 and response.json()["accepted"] == 1, response.content
    published = [decode_message(m) for m in read_topic(TOPIC, expect=2)]
    # The broker kept its log: the ping from before the outage, then the one sent after; the 503'd one
    # is the page's to send again, not the server's.
    assert [e.data["lat"] for e in published] == [51.508, 51.512]


def test_a_broker_restarted_empty_between_two_batches_fails_one_batch_not_every_later_one(private_broker, customer) -> None:
    """The broker no longer knows the web process's idempotent producer, whose sends then fail forever: that batch
    gets the 503 (the page keeps it and sends it again) and the next one goes through on a fresh producer."""
    s = on_the_way(customer)
    assert send(s.owner, s.job.pk, [ping(51.508, -0.12, timezone.now())]).status_code == 202
    private_broker.stop()
    private_broker.wipe()  # a lost volume: the broker no longer knows the producer
    private_broker.start()
    call_command("kafka_topics", wait=20, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    batch = [ping(51.512, -0.12, timezone.now())]
    first = send(s.owner, s.job.pk, batch)
    assert first.status_code in (202, 503), first.content
    if first.status_code == 503:
        assert send(s.owner, s.job.pk, batch).status_code == 202
    assert [decode_message(m).data["lat"] for m in read_topic(TOPIC, expect=1)] == [51.512]


def test_a_fatal_producer_error_is_a_503_and_the_producer_is_replaced(settings) -> None:
    """Pure logic (no broker): librdkafka raising a fatal error while waiting for reports."""

    class Fatal:
        def produce(self, *args: Any, **kwargs: Any) -> None:
            pass

        def poll(self, _timeout: float) -> int:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "unknown producer id", fatal=True))

    settings.KAFKA = {**settings.KAFKA, "BOOTSTRAP_SERVERS": "fatal.invalid:9092"}
    fatal = Fatal()
    tracking_services._producers["fatal.invalid:9092"] = fatal  # type: ignore[assignment]
    envelope = tracking_services.ping_envelope(
        job_id=1,
        worker_id=1,
        ping={"lat": 51.5, "lng": -0.12, "accuracy_m": 5.0, "recorded_at": timezone.now().isoformat()},
        actor_id=None,
        now=timezone.now(),
    )
    with pytest.raises(ServiceError) as refused:
        tracking_services.produce_pings([envelope])
    assert status_for(refused.value) == 503 and refused.value.code == "tracking_unavailable"
    assert "fatal.invalid:9092" not in tracking_services._producers
