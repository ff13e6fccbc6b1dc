"""The backbone against the real broker and Postgres: relay, runner, dead letters, replay."""

from __future__ import annotations

import json
import logging
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from confluent_kafka import Producer
from django.db import connection

from jobs.models import JobBoardEntry, TradeActivity
from jobs.projections import JobBoardProjection
from jobs.services import job_cancel
from marketplace.asgi import application
from marketplace.events.deadletters import DeadLetterLimitExceeded
from marketplace.events.handlers import Retryable
from marketplace.events.kafka import group_id, make_producer
from marketplace.events.models import DeadLetter, OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.events.relay import OutboxRelay
from marketplace.events.replay import rebuild, redrive, republish_outbox
from marketplace.events.runner import ConsumerRunner
from marketplace.events.topics import kafka_topic
from tests.events.pipeline import committed_offsets, read_topic, relay_all, run_consumer_until
from tests.factories import post_job

pytestmark = pytest.mark.django_db(transaction=True)

JOBS = "marketplace.jobs"


def board_count() -> int:
    return JobBoardEntry.objects.count()


def posted_total() -> int:
    return sum(TradeActivity.objects.values_list("posted_total", flat=True))


def test_events_reach_the_read_model_once_even_when_published_twice(broker, customer) -> None:
    jobs = [post_job(customer, title=f"Job {i}") for i in range(3)]
    assert relay_all() == 3
    stats = run_consumer_until(lambda: board_count() == 3)
    assert stats.processed == 3
    assert set(JobBoardEntry.objects.values_list("job_id", flat=True)) == {j.pk for j in jobs}

    # The operator re-publishes everything (e.g. after a broker loss): the same group
    # reads the copies, and the inbox absorbs them.
    assert republish_outbox() == 3
    assert relay_all() == 3
    runner = ConsumerRunner(get_consumer("jobs-board"))
    run_consumer_until(lambda: runner.stats.duplicates == 3, runner=runner)
    assert runner.stats.processed == 0
    assert posted_total() == 3


def test_relay_crash_between_broker_ack_and_marking_is_absorbed(broker, customer) -> None:
    job = post_job(customer)
    relay = OutboxRelay()
    acked, failed = relay.publish(relay.fetch_pending())  # the broker has it ...
    assert len(acked) == 1 and not failed
    # ... and the relay dies before mark_published(): the row is still pending.
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 1
    assert relay_all() == 1  # the restarted relay sends it again

    runner = ConsumerRunner(get_consumer("jobs-board"))
    run_consumer_until(lambda: runner.stats.processed + runner.stats.duplicates == 2, runner=runner)
    assert (runner.stats.processed, runner.stats.duplicates) == (1, 1)
    assert posted_total() == 1 and JobBoardEntry.objects.get().job_id == job.pk
    assert len(read_topic(JOBS, expect=2)) == 2


def test_broker_outage_keeps_requests_working_and_delivers_everything_in_order_after(private_broker, customer, client) -> None:
    client.force_login(customer)
    post_job(customer)  # creates the trade
    private_broker.stop()
    created = []
    for i in range(5):
        response = client.post(
            "/api/jobs/",
            {"trade": "plumbing", "title": f"Outage job {i}", "description": "d", "latitude": "51.5", "longitude": "-0.1"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        created.append(response.json()["id"])
    job = created[0]
    cancel = client.post(f"/api/jobs/{job}/cancel/", {"reason": "changed my mind"}, content_type="application/json")
    assert cancel.status_code == 200

    # While the broker is down the relay publishes nothing and loses nothing.
    relay = OutboxRelay(make_producer("outage-relay", **{"message.timeout.ms": 1500}))
    published, failed = relay.publish_pending()
    assert published == 0 and failed == 7
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 7

    private_broker.start()  # the same port and data: its topics and messages are back
    from django.core.management import call_command

    call_command("kafka_topics", wait=10, verbosity=0)
    assert relay.drain() == 7
    messages = read_topic(JOBS, expect=7)
    by_key: dict[str, list[int]] = {}
    for m in messages:
        envelope = json.loads(m.value())
        by_key.setdefault(m.key().decode(), []).append(envelope["sequence"])
    assert all(seqs == sorted(seqs) for seqs in by_key.values()), by_key
    assert by_key[str(job)] == [1, 2]

    run_consumer_until(lambda: board_count() == 6 and JobBoardEntry.objects.filter(job_id=job, status="cancelled").exists())
    assert TradeActivity.objects.get(trade_slug="plumbing").open_jobs == 5


def _raw_producer(broker) -> Producer:
    # A plain client, not our factory: these tests write what a buggy producer might.
    return Producer({"bootstrap.servers": broker.bootstrap, "logger": logging.getLogger("test-producer")})


def _envelope(job_id: int, **overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "job.posted",
        "schema_version": 1,
        "occurred_at": "2026-11-21T10:00:00Z",
        "aggregate_type": "job",
        "aggregate_id": str(job_id),
        "sequence": 1,
        "actor_id": None,
        "correlation_id": "test",
        "causation_id": None,
        "data": {
            "job_id": job_id,
            "customer_id": 1,
            "trade": {"slug": "plumbing", "name": "Plumbing"},
            "title": f"Job {job_id}",
            "description": "d",
            "latitude": "51.5",
            "longitude": "-0.1",
            "budget_min": "0",
            "budget_max": "0",
            "is_emergency": False,
            "status": "open",
            "posted_at": "2026-11-21T10:00:00+00:00",
        },
    }
    raw.update(overrides)
    return raw


def test_poison_messages_are_dead_lettered_and_the_partition_keeps_moving(broker) -> None:
    producer = _raw_producer(broker)
    key = b"900"  # one key, so everything lands on one partition, in this order
    producer.produce(kafka_topic(JOBS), key=key, value=b"{not json")
    producer.produce(kafka_topic(JOBS), key=key, value=json.dumps(_envelope(900, event_type="job.teleported")).encode())
    bad: dict = _envelope(900)
    bad["data"]["latitude"] = 51.5  # a number where the schema wants a string
    producer.produce(kafka_topic(JOBS), key=key, value=json.dumps(bad).encode())
    producer.produce(kafka_topic(JOBS), key=key, value=json.dumps(_envelope(900)).encode())
    producer.flush(10)

    stats = run_consumer_until(lambda: board_count() == 1)
    assert stats.dead_lettered == 3 and stats.processed == 1
    reasons = list(DeadLetter.objects.order_by("offset").values_list("error", flat=True))
    assert "not JSON" in reasons[0]
    assert "Unknown event type 'job.teleported'" in reasons[1]
    assert "latitude" in reasons[2] and "is not of type 'string'" in reasons[2]

    dlq = read_topic(f"{JOBS}.dlq", expect=3)
    headers = dict(dlq[0].headers())
    assert headers["dlq.original_topic"] == kafka_topic(JOBS).encode()
    assert headers["dlq.consumer"] == b"jobs-board"
    assert b"not JSON" in headers["dlq.error"]
    assert {int(dict(m.headers())["dlq.original_offset"]) for m in dlq} == set(DeadLetter.objects.values_list("offset", flat=True))


def test_a_failing_handler_is_retried_then_dead_lettered_and_redriven_after_the_fix(broker, customer, monkeypatch) -> None:
    post_job(customer)
    relay_all()
    calls = []
    original = JobBoardProjection.on_job_posted

    def broken(self, event):
        calls.append(event.event_id)
        raise ValueError("bug in the projection")

    monkeypatch.setattr(JobBoardProjection, "on_job_posted", broken)
    run_consumer_until(lambda: DeadLetter.objects.exists())
    letter = DeadLetter.objects.get()
    # Once inside the whole batch, then three times on its own before it is dead-lettered.
    assert len(calls) == 1 + 3 and letter.attempts == 3
    assert "ValueError: bug in the projection" in letter.error
    assert board_count() == 0 and not ProcessedEvent.objects.exists()

    monkeypatch.setattr(JobBoardProjection, "on_job_posted", original)  # the fix is deployed
    assert redrive(letter) == (True, "re-driven")
    assert board_count() == 1 and posted_total() == 1
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.REDRIVEN
    assert redrive(letter)[0] and posted_total() == 1  # re-driving twice changes nothing


def test_transient_errors_are_retried_never_dead_lettered(broker, customer, monkeypatch, settings) -> None:
    post_job(customer)
    relay_all()
    original = JobBoardProjection.on_job_posted
    failures = {"left": 2}

    def flaky(self, event):
        if failures["left"]:
            failures["left"] -= 1
            raise Retryable("search index warming up")
        original(self, event)

    monkeypatch.setattr(JobBoardProjection, "on_job_posted", flaky)
    settings.CONSUMERS = {**settings.CONSUMERS, "BACKOFF_BASE_S": 0.05}
    runner = ConsumerRunner(get_consumer("jobs-board"))
    run_consumer_until(lambda: board_count() == 1, runner=runner)
    assert runner.stats.retries == 2 and runner.stats.dead_lettered == 0 and posted_total() == 1


def test_a_burst_of_dead_letters_stops_the_consumer_without_committing(broker, settings) -> None:
    settings.CONSUMERS = {**settings.CONSUMERS, "DLQ_LIMIT": 2}
    producer = _raw_producer(broker)
    for i in range(5):
        producer.produce(kafka_topic(JOBS), key=b"1", value=f"garbage {i}".encode())
    producer.flush(10)
    spec = get_consumer("jobs-board")
    with pytest.raises(DeadLetterLimitExceeded, match="more than 2 dead letters"):
        run_consumer_until(lambda: False, spec, timeout=20)
    assert not DeadLetter.objects.exists()  # rolled back with the batch
    offsets = committed_offsets(group_id(spec.name), JOBS)
    assert all(offset < 0 for offset in offsets.values()), offsets  # nothing committed


def test_rebuild_from_the_log_reproduces_the_read_model(broker, customer) -> None:
    jobs = [post_job(customer, title=f"Job {i}", budget_max=Decimal(100 + i)) for i in range(4)]
    job_cancel(job=jobs[1], actor=customer, reason="found someone")
    relay_all()
    run_consumer_until(lambda: JobBoardEntry.objects.filter(status="cancelled").exists() and board_count() == 4)
    before = list(JobBoardEntry.objects.order_by("job_id").values("job_id", "title", "status", "budget_max", "last_sequence"))
    activity = list(TradeActivity.objects.values("trade_slug", "open_jobs", "posted_total"))

    JobBoardEntry.objects.filter(job_id=jobs[0].pk).update(title="corrupted")
    result = rebuild(get_consumer("jobs-board"), source="kafka")
    assert result.applied == 5
    assert list(JobBoardEntry.objects.order_by("job_id").values("job_id", "title", "status", "budget_max", "last_sequence")) == before
    assert list(TradeActivity.objects.values("trade_slug", "open_jobs", "posted_total")) == activity

    result = rebuild(get_consumer("jobs-board"), source="outbox")
    assert result.applied == 5 and list(TradeActivity.objects.values("trade_slug", "open_jobs", "posted_total")) == activity


def test_a_live_push_reaches_a_subscribed_websocket_after_the_read_model_commits(broker, customer, tradesperson) -> None:
    def post_and_process() -> int:
        job = post_job(customer, title="Burst pipe")
        relay_all()
        run_consumer_until(lambda: board_count() == 1)
        connection.close()  # this helper thread's own connection
        return int(job.pk)

    async def scenario() -> tuple[int, dict]:
        communicator = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        communicator.scope["user"] = tradesperson
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from())["stream"] == f"user.{tradesperson.pk}"
        await communicator.send_json_to({"action": "subscribe", "stream": "board.all"})
        assert await communicator.receive_json_from() == {"type": "subscribed", "stream": "board.all"}
        assert await communicator.receive_nothing(0.2)  # nothing is pushed before the read model commits
        job_id = await sync_to_async(post_and_process, thread_sensitive=False)()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return job_id, message

    job_id, message = async_to_sync(scenario)()
    assert message["type"] == "event" and message["stream"] == "board.all"
    assert message["event"] == "job.posted" and message["seq"] == 1
    assert message["data"]["job_id"] == job_id and message["data"]["title"] == "Burst pipe"
    # The request's correlation id follows it to the browser (and is in every log line on the way).
    envelope = OutboxEvent.objects.get(key=str(job_id), event_type="job.posted").envelope
    assert message["correlation_id"] == envelope["correlation_id"] and message["correlation_id"]
