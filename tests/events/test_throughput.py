"""The consumer's fast paths (issue 9) do what the slow paths do.

- A handler's ``bulk_<type>`` method gets runs of consecutive events of that type; a failing
  run is re-applied one event at a time through ``on_<type>`` (retries, dead letters).
- Events a handler does not take are skipped by their ``event_type`` header before the JSON
  parse and schema validation; what it takes is still validated and dead-lettered if bad.
- ``JobBoardProjection.bulk_job_posted`` writes exactly what ``on_job_posted`` one by one writes.
- ``push.send_many_on_commit`` and the pipelined Redis group send keep positions and order.
- The compiled schema check agrees with the reference validator; emit_many reserves sequences in one statement.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from confluent_kafka import Producer
from django.db import connection, transaction
from jsonschema import Draft202012Validator

from jobs.events import JOB_CANCELLED
from jobs.models import JobBoardEntry, TradeActivity
from jobs.projections import JobBoardProjection
from marketplace.events import schemas
from marketplace.events.context import consuming
from marketplace.events.envelope import Envelope, InvalidMessage, from_dict
from marketplace.events.models import DeadLetter, OutboxEvent
from marketplace.events.outbox import PendingEvent, emit_many
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from marketplace.events.topics import kafka_topic
from marketplace.realtime import push
from marketplace.realtime.models import LivePosition
from tests.events.pipeline import run_consumer_until

JOBS = "marketplace.jobs"


def _raw(job_id: int, *, sequence: int = 1, trade: str = "plumbing") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "job.posted",
        "schema_version": 1,
        "occurred_at": "2026-11-21T10:00:00Z",
        "aggregate_type": "job",
        "aggregate_id": str(job_id),
        "sequence": sequence,
        "actor_id": None,
        "correlation_id": "test",
        "causation_id": None,
        "data": {
            "job_id": job_id,
            "customer_id": 1,
            "trade": {"slug": trade, "name": trade.title()},
            "title": f"Job {job_id} leaking tap",
            "description": "The kitchen tap drips.",
            "latitude": "51.5",
            "longitude": "-0.1",
            "place": "Islington",
            "budget_min": "10.00",
            "budget_max": "90.00",
            "is_emergency": job_id % 2 == 0,
            "status": "open",
            "posted_at": "2026-11-21T10:00:00+00:00",
        },
    }


def _state() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT job_id, search::text FROM jobs_jobboardentry ORDER BY job_id")
        search = cursor.fetchall()
    return {
        "entries": list(JobBoardEntry.objects.order_by("job_id").values()),
        "search": search,
        "trades": list(TradeActivity.objects.order_by("trade_slug").values()),
        "positions": list(
            LivePosition.objects.order_by("aggregate").values("stream", "source", "aggregate", "last_sequence", "previous_sequence")
        ),
    }


@pytest.mark.django_db
def test_bulk_job_posted_writes_and_pushes_what_one_by_one_does(monkeypatch, django_capture_on_commit_callbacks) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(push, "send_now", lambda items: sent.extend(items))
    # Job 2 twice (a second job.posted for it is ignored), job 1 already on the board, two trades.
    events = [from_dict(_raw(i, trade="electrical" if i == 4 else "plumbing")) for i in (1, 2, 3, 2, 4)]
    handler = JobBoardProjection()

    def apply(bulk: bool) -> tuple[dict[str, Any], list[Any]]:
        JobBoardEntry.objects.all().delete()
        TradeActivity.objects.all().delete()
        LivePosition.objects.all().delete()
        sent.clear()
        with consuming("jobs-board"):
            handler.on_job_posted(events[0])
            with django_capture_on_commit_callbacks(execute=True):
                if bulk:
                    handler.bulk_job_posted(events)
                else:
                    for event in events:
                        handler.on_job_posted(event)
        return _state(), [(stream, {k: v for k, v in m.items()}) for stream, m in sent]

    one_by_one = apply(bulk=False)
    in_bulk = apply(bulk=True)
    assert in_bulk == one_by_one
    state, pushes = in_bulk
    assert [e["job_id"] for e in state["entries"]] == [1, 2, 3, 4] and all(s for _, s in state["search"])
    assert {t["trade_slug"]: (t["open_jobs"], t["posted_total"]) for t in state["trades"]} == {"plumbing": (3, 3), "electrical": (1, 1)}
    assert [m["data"]["job_id"] for _, m in pushes] == [2, 3, 4]  # the new jobs, in order (job 1 was on the board already)


@pytest.mark.django_db
def test_send_many_on_commit_keeps_each_streams_previous_position(monkeypatch, django_capture_on_commit_callbacks) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(push, "send_now", lambda items: sent.extend(items))
    first, second, again = (from_dict(_raw(job, sequence=seq)) for job, seq in ((7, 1), (8, 1), (7, 2)))
    with consuming("c"), django_capture_on_commit_callbacks(execute=True):
        push.send_many_on_commit("s", [(first, {"n": 1}), (second, {"n": 2})])
        push.send_many_on_commit("s", [(again, {"n": 3}), (from_dict(_raw(7, sequence=3)), {"n": 4})])  # one aggregate twice
    assert [(m["aggregate"], m["seq"], m["prev_seq"], m["data"]["n"]) for _, m in sent] == [
        ("job:7", 1, None, 1),
        ("job:8", 1, None, 2),
        ("job:7", 2, 1, 3),
        ("job:7", 3, 2, 4),
    ]


def test_many_pushes_to_one_group_arrive_in_order_through_the_pipelined_send() -> None:
    layer = get_channel_layer()
    group = f"order-{uuid.uuid4().hex[:8]}"

    async def join() -> list[str]:
        channels = [await layer.new_channel(), await layer.new_channel()]
        for channel in channels:
            await layer.group_add(group, channel)
        return channels

    async def receive_all(channels: list[str]) -> list[list[int]]:
        return [[(await layer.receive(channel))["n"] for _ in range(50)] for channel in channels]

    channels = async_to_sync(join)()
    push.send_now([(group, {"type": "live.event", "n": i}) for i in range(50)])
    assert async_to_sync(receive_all)(channels) == [list(range(50))] * 2
    push.send_now([(f"empty-{group}", {"type": "live.event", "n": i}) for i in range(3)])  # no members: nothing to do


def _producer(broker) -> Producer:
    return Producer({"bootstrap.servers": broker.bootstrap, "logger": logging.getLogger("test-producer")})


@pytest.mark.django_db(transaction=True)
def test_the_runner_skips_by_header_validates_what_it_takes_and_applies_runs_in_bulk(broker, monkeypatch) -> None:
    runs: list[int] = []
    original = JobBoardProjection.bulk_job_posted

    def counting(self, events: list[Envelope]) -> None:
        runs.append(len(events))
        original(self, events)

    monkeypatch.setattr(JobBoardProjection, "bulk_job_posted", counting)
    producer = _producer(broker)
    key = b"500"  # one partition, this order
    # Not JSON, but named as a type jobs-board does not handle: skipped unread, never dead-lettered.
    producer.produce(kafka_topic(JOBS), key=key, value=b"{not json", headers=[("event_type", b"tracking.ping")])
    # Not JSON and named as a type it does handle: read, and dead-lettered.
    producer.produce(kafka_topic(JOBS), key=key, value=b"{not json", headers=[("event_type", b"job.posted")])
    for job_id in (501, 502, 503):
        producer.produce(kafka_topic(JOBS), key=key, value=json.dumps(_raw(job_id)).encode(), headers=[("event_type", b"job.posted")])
    producer.flush(10)

    runner = ConsumerRunner(get_consumer("jobs-board"))
    run_consumer_until(lambda: JobBoardEntry.objects.count() == 3, runner=runner)
    assert runner.stats.processed == 3 and runner.stats.skipped == 1 and runner.stats.dead_lettered == 1
    assert "not JSON" in DeadLetter.objects.get().error
    assert runs == [3]
    assert TradeActivity.objects.get(trade_slug="plumbing").posted_total == 3


@pytest.mark.django_db(transaction=True)
def test_a_failing_bulk_run_is_reapplied_one_by_one_and_only_the_culprit_is_dead_lettered(broker, monkeypatch, settings) -> None:
    settings.CONSUMERS = {**settings.CONSUMERS, "BACKOFF_BASE_S": 0.01}
    original = JobBoardProjection.on_job_posted

    def bulk_bug(self, events: list[Envelope]) -> None:
        raise ValueError("bug in the bulk path")

    def one_bad(self, event: Envelope) -> None:
        if event.data["job_id"] == 602:
            raise ValueError("job 602 is broken")
        original(self, event)

    monkeypatch.setattr(JobBoardProjection, "bulk_job_posted", bulk_bug)
    monkeypatch.setattr(JobBoardProjection, "on_job_posted", one_bad)
    producer = _producer(broker)
    for job_id in (601, 602, 603):
        producer.produce(kafka_topic(JOBS), key=b"600", value=json.dumps(_raw(job_id)).encode(), headers=[("event_type", b"job.posted")])
    producer.flush(10)

    run_consumer_until(lambda: DeadLetter.objects.exists() and JobBoardEntry.objects.count() == 2)
    assert sorted(JobBoardEntry.objects.values_list("job_id", flat=True)) == [601, 603]
    letter = DeadLetter.objects.get()
    assert letter.attempts == 3 and "job 602 is broken" in letter.error


def test_the_compiled_schema_check_agrees_with_the_reference_validator() -> None:
    samples: list[Any] = [{}, {"job_id": 1}, [], None, "x", {"job_id": "1", "status": 5}]
    for (name, version), _path in schemas.all_schema_files().items():
        reference = Draft202012Validator(schemas.load_schema(name, version))
        fast = schemas.fast_validator(schemas.load_schema(name, version))
        for sample in samples:
            assert fast.is_valid(sample) == reference.is_valid(sample), (name, version, sample)
    good = _raw(1)
    assert from_dict(good).data["job_id"] == 1
    bad = _raw(1)
    bad["data"]["latitude"] = 51.5
    with pytest.raises(InvalidMessage, match=r"latitude: 51\.5 is not of type 'string'"):
        from_dict(bad)
    # "format" is an annotation only, as in the reference validator without a format checker.
    assert schemas.fast_validator({"type": "string", "format": "date-time"}).is_valid("not a date")


@pytest.mark.django_db
def test_emit_many_reserves_every_aggregates_sequences_in_one_statement(django_assert_max_num_queries) -> None:
    def cancel(job_id: int, reason: str) -> PendingEvent:
        return PendingEvent(JOB_CANCELLED, job_id, {"job_id": job_id, "status": "cancelled", "reason": reason})

    with transaction.atomic():
        emit_many([cancel(20, "a"), cancel(21, "b"), cancel(20, "c")])
    with django_assert_max_num_queries(4), transaction.atomic():  # savepoint, sequences, insert, release
        emit_many([cancel(21, "d"), cancel(22, "e"), cancel(20, "f"), cancel(21, "g")])
    rows = list(OutboxEvent.objects.order_by("id").values_list("key", "sequence", "envelope__data__reason"))
    assert rows == [("20", 1, "a"), ("21", 1, "b"), ("20", 2, "c"), ("21", 2, "d"), ("22", 1, "e"), ("20", 3, "f"), ("21", 3, "g")]
