"""Tombstones on compacted topics, against the real broker and Postgres.

``emit_tombstone`` -> outbox row flagged ``tombstone`` -> the relay produces a null
value with the envelope in headers -> a consumer sees an ordinary event with
``event.tombstone`` True (inbox, retries, dead letters, replay all as usual).  Bare
tombstones (null value, no envelope) never block a partition.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
from django.core.management import call_command
from django.db import transaction

from jobs.events import JOB_CANCELLED, JobCancelledV2
from marketplace.events.envelope import BareTombstone, Envelope, InvalidMessage, decode, decode_message
from marketplace.events.handlers import EventHandler
from marketplace.events.kafka import group_id, make_admin
from marketplace.events.models import AggregateSequence, DeadLetter, OutboxEvent, ProcessedEvent
from marketplace.events.outbox import PendingEvent, emit, emit_many, emit_tombstone
from marketplace.events.registry import CONSUMERS, ConsumerSpec
from marketplace.events.replay import events_from_kafka, events_from_outbox, rebuild, redrive, republish_outbox
from marketplace.events.runner import ConsumerRunner
from marketplace.events.schemas import SchemaViolation
from marketplace.events.topics import DAY_MS, HOUR_MS, TOPICS, Topic, TopicSpec, kafka_topic
from payments.events import PAYMENT_SETTLED, PAYMENT_SNAPSHOT, PaymentSettledV1, PaymentSnapshotV1
from tests.events.pipeline import committed_offsets, read_topic, relay_all, run_consumer_until
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PAYMENTS = str(Topic.PAYMENTS)
PAYMENTS_DLQ = f"{PAYMENTS}.dlq"


# --- a throwaway read model ------------------------------------------------------------


@dataclass
class _State:
    calls: list[tuple[Any, ...]] = field(default_factory=list)  # every handler call, failed attempts included
    applied: list[tuple[Any, ...]] = field(default_factory=list)  # effects of committed transactions only
    fail_settled: bool = False


STATE = _State()


def _record(effect: tuple[Any, ...]) -> None:
    STATE.calls.append(effect)
    # Kept only if the runner's transaction (and the savepoint around this call) commits.
    transaction.on_commit(lambda: STATE.applied.append(effect))


class PaymentsReadModel(EventHandler):
    def on_payment_snapshot(self, event: Envelope) -> None:
        _record(("snapshot", event.aggregate_id, event.sequence, event.tombstone))

    def on_payment_settled(self, event: Envelope) -> None:
        if STATE.fail_settled:
            STATE.calls.append(("failed", event.aggregate_id))
            raise ValueError("cannot settle this payment")
        _record(("settled", event.aggregate_id, event.sequence, event.tombstone))

    def reset(self) -> None:
        transaction.on_commit(STATE.applied.clear)


class PaymentsWithBareHook(PaymentsReadModel):
    def on_bare_tombstone(self, topic: str, key: str | None) -> None:
        _record(("bare", topic, key))


SPEC = ConsumerSpec(name="payments-test", topics=(Topic.PAYMENTS,), handler_path=f"{__name__}.PaymentsReadModel")
HOOK_SPEC = ConsumerSpec(name="payments-test-hook", topics=(Topic.PAYMENTS,), handler_path=f"{__name__}.PaymentsWithBareHook")


@pytest.fixture(autouse=True)
def payments_consumers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Registered for this test only (redrive() looks consumers up by name).
    monkeypatch.setitem(CONSUMERS, SPEC.name, SPEC)
    monkeypatch.setitem(CONSUMERS, HOOK_SPEC.name, HOOK_SPEC)
    STATE.calls.clear()
    STATE.applied.clear()
    STATE.fail_settled = False
    yield


# --- helpers ---------------------------------------------------------------------------


def snapshot_data(payment_id: int, status: str = "captured") -> PaymentSnapshotV1:
    money = "10.00"
    return PaymentSnapshotV1(
        payment_id=payment_id,
        job_id=1,
        customer_id=2,
        tradesperson_id=3,
        status=status,
        currency="GBP",
        version=1,
        payout_paid="0.00",
        total=money,
        deposit=money,
        balance=money,
        held=money,
        captured=money,
        refunded=money,
        platform_revenue=money,
        payout_due=money,
    )


def settled_data(payment_id: int) -> PaymentSettledV1:
    return PaymentSettledV1(payment_id=payment_id, job_id=1, status="settled")


def snapshot_then_settle(payment_id: int) -> tuple[Envelope, Envelope]:
    with transaction.atomic():
        snapshot = emit(PAYMENT_SNAPSHOT, aggregate_id=payment_id, data=snapshot_data(payment_id))
    with transaction.atomic():
        tombstone = emit_tombstone(PAYMENT_SETTLED, aggregate_id=payment_id, data=settled_data(payment_id))
    return snapshot, tombstone


def raw_producer(broker: Any) -> Producer:
    # A plain client, not our factory: it writes what a foreign producer might.
    return Producer({"bootstrap.servers": broker.bootstrap, "logger": logging.getLogger("test-producer")})


def fast_retries(settings: Any) -> None:
    settings.CONSUMERS = {**settings.CONSUMERS, "BACKOFF_BASE_S": 0.05}


# --- (a) the relay publishes a real tombstone ------------------------------------------


def test_relay_publishes_a_tombstone_as_a_null_value_with_its_envelope_in_headers(broker) -> None:
    snapshot, tombstone = snapshot_then_settle(501)
    assert tombstone.tombstone and not snapshot.tombstone
    row = OutboxEvent.objects.get(event_id=tombstone.event_id)
    assert (row.tombstone, row.key, row.sequence, row.topic) == (True, "501", 2, PAYMENTS)
    assert row.envelope == tombstone.to_dict()  # stored as usual, flag not in the JSON
    assert not OutboxEvent.objects.get(event_id=snapshot.event_id).tombstone

    assert relay_all() == 2
    first, second = sorted(read_topic(PAYMENTS, expect=2), key=lambda m: m.offset())
    assert first.partition() == second.partition()  # same key, same partition, in order

    # The snapshot is unchanged: JSON value, no envelope header.
    assert json.loads(first.value())["event_id"] == str(snapshot.event_id)
    assert dict(first.headers()).keys() == {"event_type", "event_id"}

    # The tombstone: same key, null value, envelope in headers.
    assert second.key() == b"501"
    assert second.value() is None
    headers = dict(second.headers())
    assert headers["event_type"] == b"payment.settled"
    assert headers["event_id"] == str(tombstone.event_id).encode()
    assert json.loads(headers["envelope"]) == tombstone.to_dict()
    assert decode_message(second) == tombstone  # tombstone=True included


# --- (b) a consumer gets it once --------------------------------------------------------


def test_a_consumer_receives_the_tombstone_through_its_handler_exactly_once(broker) -> None:
    snapshot_then_settle(502)
    assert relay_all() == 2
    runner = ConsumerRunner(SPEC)
    run_consumer_until(lambda: len(STATE.applied) == 2, runner=runner)
    expected = [("snapshot", "502", 1, False), ("settled", "502", 2, True)]
    assert STATE.applied == expected
    assert (runner.stats.processed, runner.stats.duplicates, runner.stats.dead_lettered) == (2, 0, 0)
    assert set(ProcessedEvent.objects.filter(consumer=SPEC.name).values_list("event_type", flat=True)) == {
        "payment.snapshot",
        "payment.settled",
    }

    # The relay sends both again (as after a crash between ack and mark): the inbox absorbs them.
    assert republish_outbox() == 2
    assert relay_all() == 2
    runner = ConsumerRunner(SPEC)
    run_consumer_until(lambda: runner.stats.duplicates == 2, runner=runner)
    assert runner.stats.processed == 0

    # A group that lost its offsets re-reads all four messages: still nothing applied twice.
    runner = ConsumerRunner(SPEC, group=f"{group_id(SPEC.name)}-offsets-lost")
    run_consumer_until(lambda: runner.stats.duplicates == 4, runner=runner)
    assert runner.stats.processed == 0
    assert STATE.applied == expected


# --- (c) a failing tombstone is dead-lettered as a tombstone ----------------------------


def test_a_tombstone_whose_handler_fails_is_dead_lettered_with_a_null_value_and_redriven(broker, settings) -> None:
    fast_retries(settings)
    STATE.fail_settled = True
    _, tombstone = snapshot_then_settle(503)
    relay_all()
    runner = ConsumerRunner(SPEC)
    run_consumer_until(lambda: DeadLetter.objects.exists(), runner=runner)
    assert (runner.stats.processed, runner.stats.dead_lettered) == (1, 1)
    # The snapshot survived the failed fast path and was applied once; the tombstone not at all.
    assert STATE.applied == [("snapshot", "503", 1, False)]
    assert STATE.calls.count(("failed", "503")) == 1 + 3  # once in the batch, then three attempts alone
    assert not ProcessedEvent.objects.filter(event_id=tombstone.event_id).exists()

    letter = DeadLetter.objects.get()
    assert (letter.consumer, letter.topic, letter.key) == (SPEC.name, kafka_topic(PAYMENTS), "503")
    assert letter.value is None
    assert (letter.event_id, letter.event_type, letter.attempts) == (tombstone.event_id, "payment.settled", 3)
    assert "ValueError: cannot settle this payment" in letter.error
    assert json.loads(letter.headers["envelope"]) == tombstone.to_dict()

    [dead] = read_topic(PAYMENTS_DLQ, expect=1)
    assert dead.value() is None and dead.key() == b"503"
    headers = dict(dead.headers())
    assert json.loads(headers["envelope"]) == tombstone.to_dict()
    assert headers["event_id"] == str(tombstone.event_id).encode()
    assert b"cannot settle this payment" in headers["dlq.error"]
    assert headers["dlq.error_class"] == b"ValueError"
    assert headers["dlq.consumer"] == SPEC.name.encode()
    assert headers["dlq.original_topic"] == kafka_topic(PAYMENTS).encode()
    assert int(headers["dlq.original_offset"]) == letter.offset

    STATE.fail_settled = False  # the fix is deployed
    assert redrive(letter) == (True, "re-driven")
    assert STATE.applied[-1] == ("settled", "503", 2, True)
    assert redrive(letter)[0] and len(STATE.applied) == 2  # re-driving twice changes nothing


# --- (d) bare tombstones never block a partition ----------------------------------------


def test_bare_and_broken_tombstones_do_not_block_the_partition(broker, settings) -> None:
    fast_retries(settings)
    producer = raw_producer(broker)
    producer.produce(kafka_topic(PAYMENTS), key=b"504", value=None)  # bare: no headers at all
    producer.produce(kafka_topic(PAYMENTS), key=b"504", value=None, headers=[("envelope", b"{broken")])  # claims an envelope: poison
    producer.flush(10)
    with transaction.atomic():
        emit(PAYMENT_SNAPSHOT, aggregate_id=504, data=snapshot_data(504))
    relay_all()
    messages = sorted(read_topic(PAYMENTS, expect=3), key=lambda m: m.offset())
    assert len({m.partition() for m in messages}) == 1  # all on one partition, the snapshot last
    partition = messages[0].partition()

    # Without a hook: skipped, not dead-lettered, and the snapshot behind it is applied.
    runner = ConsumerRunner(SPEC)
    run_consumer_until(lambda: STATE.applied, runner=runner)
    assert STATE.applied == [("snapshot", "504", 1, False)]
    assert (runner.stats.skipped, runner.stats.dead_lettered, runner.stats.processed) == (1, 1, 1)
    letter = DeadLetter.objects.get()
    assert letter.offset == messages[1].offset() and letter.value is None
    assert "'envelope' header is not JSON" in letter.error
    assert committed_offsets(group_id(SPEC.name), PAYMENTS)[partition] == messages[-1].offset() + 1

    # With a hook: the handler is told the key, in partition order.
    STATE.applied.clear()
    runner = ConsumerRunner(HOOK_SPEC)
    run_consumer_until(lambda: len(STATE.applied) == 2, runner=runner)
    assert STATE.applied == [("bare", kafka_topic(PAYMENTS), "504"), ("snapshot", "504", 1, False)]
    assert (runner.stats.skipped, runner.stats.processed) == (0, 2)
    assert committed_offsets(group_id(HOOK_SPEC.name), PAYMENTS)[partition] == messages[-1].offset() + 1


# --- (e) replay yields tombstones from either source ------------------------------------


def test_replay_from_kafka_and_from_the_outbox_yields_the_tombstone(broker) -> None:
    snapshot, tombstone = snapshot_then_settle(505)
    relay_all()
    producer = raw_producer(broker)
    producer.produce(kafka_topic(PAYMENTS), key=b"506", value=None)
    producer.flush(10)

    from_kafka = list(events_from_kafka([kafka_topic(PAYMENTS)]))
    assert [e for e in from_kafka if isinstance(e, Envelope)] == [snapshot, tombstone]
    bare = [e for e in from_kafka if isinstance(e, BareTombstone)]
    assert [(b.topic, b.key) for b in bare] == [(kafka_topic(PAYMENTS), "506")]
    assert len(from_kafka) == 3
    assert list(events_from_outbox([PAYMENTS])) == [snapshot, tombstone]
    assert [e.tombstone for e in events_from_outbox([PAYMENTS]) if isinstance(e, Envelope)] == [False, True]

    expected = [("snapshot", "505", 1, False), ("settled", "505", 2, True)]
    result = rebuild(SPEC, source="kafka")
    assert (result.applied, result.skipped, result.invalid) == (2, 1, 0)  # the bare tombstone is skipped, not invalid
    assert STATE.applied == expected
    result = rebuild(SPEC, source="outbox")
    assert (result.applied, result.skipped, result.invalid) == (2, 0, 0)
    assert STATE.applied == expected
    result = rebuild(HOOK_SPEC, source="kafka")
    assert (result.applied, result.skipped, result.invalid) == (3, 0, 0)
    assert sorted(STATE.applied) == sorted([*expected, ("bare", kafka_topic(PAYMENTS), "506")])


# --- (f) only compacted topics take tombstones ------------------------------------------


def test_emit_tombstone_is_refused_for_a_topic_that_is_not_compacted() -> None:
    data = JobCancelledV2(job_id=9, status="cancelled", reason="")
    refused = r"job\.cancelled cannot be emitted as a tombstone: its topic marketplace\.jobs is not compacted"
    with pytest.raises(ValueError, match=refused), transaction.atomic():
        emit_tombstone(JOB_CANCELLED, aggregate_id=9, data=data)
    with pytest.raises(ValueError, match="not compacted"), transaction.atomic():
        emit_many(
            [
                PendingEvent(PAYMENT_SNAPSHOT, 9, snapshot_data(9)),
                PendingEvent(JOB_CANCELLED, 9, data, tombstone=True),
            ]
        )
    assert not OutboxEvent.objects.exists()
    assert not AggregateSequence.objects.exists()  # no sequence number was used up


def test_emit_tombstone_validates_and_sequences_like_emit() -> None:
    with pytest.raises(SchemaViolation, match="payment_id"), transaction.atomic():
        emit_tombstone(PAYMENT_SETTLED, aggregate_id=7, data=PaymentSettledV1(payment_id="seven", job_id=1, status="settled"))  # type: ignore[typeddict-item]
    with transaction.atomic():
        envelopes = emit_many(
            [
                PendingEvent(PAYMENT_SNAPSHOT, 7, snapshot_data(7)),
                PendingEvent(PAYMENT_SETTLED, 7, settled_data(7), tombstone=True),
            ]
        )
    assert [(e.sequence, e.tombstone) for e in envelopes] == [(1, False), (2, True)]
    assert list(OutboxEvent.objects.order_by("id").values_list("sequence", "tombstone")) == [(1, False), (2, True)]


# --- (g) the topic is created compacted -------------------------------------------------


def _topic_config(name: str) -> dict[str, str]:
    admin = make_admin()  # kept referenced until the result is in: a collected client cancels it
    resource = ConfigResource("topic", kafka_topic(name))  # the declared name, as this test's broker names it
    described = admin.describe_configs([resource])[resource].result(timeout=10)
    return {key: entry.value for key, entry in described.items()}


def test_the_payments_topic_is_created_compacted(broker) -> None:
    expected = {
        "cleanup.policy": "compact",
        "retention.ms": "-1",
        "delete.retention.ms": str(DAY_MS),
        "min.compaction.lag.ms": str(HOUR_MS),
    }
    assert TOPICS[Topic.PAYMENTS].config() == expected
    payments = _topic_config(PAYMENTS)
    assert {k: payments.get(k) for k in expected} == expected
    jobs = _topic_config(str(Topic.JOBS))
    assert jobs["cleanup.policy"] == "delete" and "min.compaction.lag.ms" not in TOPICS[Topic.JOBS].config()
    assert _topic_config(PAYMENTS_DLQ)["cleanup.policy"] == "delete"  # a dead tombstone must not delete anything


def test_kafka_topics_updates_the_config_of_an_existing_topic(broker) -> None:
    # As if the topic had been created before compaction settings were declared.
    stale = [
        ConfigEntry("min.compaction.lag.ms", "0", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("delete.retention.ms", "1", incremental_operation=AlterConfigOpType.SET),
    ]
    admin = make_admin()
    resource = ConfigResource("topic", kafka_topic(PAYMENTS), incremental_configs=stale)
    admin.incremental_alter_configs([resource])[resource].result(timeout=10)
    # A broker applies a config change through its metadata log: a describe right after may still show the old value.
    wait_until(lambda: _topic_config(PAYMENTS)["min.compaction.lag.ms"] == "0", timeout=10, message="the stale config")

    out, err = io.StringIO(), io.StringIO()
    call_command("kafka_topics", wait=10, stdout=out, stderr=err)
    assert f"updated config of {kafka_topic(PAYMENTS)}: delete.retention.ms={DAY_MS}, min.compaction.lag.ms={HOUR_MS}" in out.getvalue()
    assert err.getvalue() == ""
    declared = (str(DAY_MS), str(HOUR_MS))
    wait_until(lambda: tuple(map(_topic_config(PAYMENTS).get, ("delete.retention.ms", "min.compaction.lag.ms"))) == declared, timeout=10)

    out = io.StringIO()
    call_command("kafka_topics", wait=10, stdout=out, stderr=err)
    assert "updated" not in out.getvalue()  # idempotent


# --- units --------------------------------------------------------------------------------


def test_topic_spec_validates_its_policy_and_retention() -> None:
    assert TopicSpec(Topic.PAYMENTS, 1, cleanup_policy="compact,delete", retention_ms=DAY_MS).compacted
    assert not TOPICS[Topic.JOBS].compacted
    with pytest.raises(ValueError, match="cleanup_policy"):
        TopicSpec(Topic.PAYMENTS, 1, cleanup_policy="compacted")
    with pytest.raises(ValueError, match="retention_ms"):
        TopicSpec(Topic.PAYMENTS, 1, retention_ms=0)


def test_decode_reads_a_tombstone_from_its_envelope_header() -> None:
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type="payment.settled",
        schema_version=1,
        occurred_at=datetime(2026, 11, 21, tzinfo=UTC),
        aggregate_type="payment",
        aggregate_id="8",
        sequence=3,
        actor_id=None,
        correlation_id="c",
        causation_id=None,
        data=dict(settled_data(8)),
    )
    assert "tombstone" not in envelope.to_dict()  # the JSON (and its schema) are unchanged
    decoded = decode(None, [("event_type", b"payment.settled"), ("envelope", envelope.to_json())])
    assert decoded.tombstone and decoded.event_id == envelope.event_id and decoded.sequence == 3
    assert decode(None, {"envelope": envelope.to_json().decode()}).tombstone  # a dead letter's stored headers
    assert not decode(envelope.to_json(), [("envelope", b"ignored")]).tombstone
    with pytest.raises(BareTombstone) as bare:
        decode(None, [("event_type", b"payment.settled")])
    assert isinstance(bare.value, InvalidMessage)
    with pytest.raises(InvalidMessage, match="payment_id"):
        bad = {**envelope.to_dict(), "data": {"payment_id": "x", "job_id": 1, "status": "s"}}
        decode(None, [("envelope", json.dumps(bad).encode())])
