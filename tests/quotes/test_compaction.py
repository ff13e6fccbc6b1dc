"""Compaction for real: Apache Kafka compacts the payments topic, and the finance read model survives it.

The payments topic is compacted: the broker keeps the latest record per payment and, once a
payment is settled (a ``payment.settled`` tombstone), deletes its records, then the tombstone
itself after ``delete.retention.ms``.  Here the topic is set to compact within seconds (small
segments, a low dirty ratio, no compaction lag, a 1 s tombstone retention); the broker's cleaner
(``log.cleaner.backoff.ms`` 1 s on the development broker) does the rest.  Then the finance read
model is rebuilt from the compacted topic and must show the same figures as before.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
from django.conf import settings

from finance.models import FinanceLedgerEntry, FinanceOpenPayment
from jobs import services as job_services
from marketplace.events.kafka import make_admin, make_consumer
from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild
from marketplace.events.topics import Topic, kafka_topic
from payments.approval import payment_approve
from payments.models import Payment
from tests.events.pipeline import relay_all, run_consumer_until
from tests.helpers import after_payments_executor
from tests.support import wait_until

from .helpers import pay_out
from .test_payments import booked

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Aggressive, for this test's own topic only: production keeps the declared values (topics.py).
COMPACT_NOW = {
    "segment.ms": "300",  # a new segment at the first record after 300 ms: only closed segments are compacted
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
    "delete.retention.ms": "1000",  # how long a tombstone outlives the records it deleted
}


def records_by_key(topic: str) -> dict[bytes, list[Any]]:
    """Every record the broker still holds on ``topic``, grouped by key, in offset order."""
    reader = make_consumer(f"compaction-reader-{uuid.uuid4().hex[:8]}", "compaction-reader", **{"enable.auto.commit": False})
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        reader.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: dict[bytes, list[Any]] = {}
        position = dict.fromkeys(partitions, -1)
        deadline = time.monotonic() + 20
        while any(position[p] < ends[p] - 1 for p in partitions) and time.monotonic() < deadline:
            for message in reader.consume(500, 0.5):
                if message.error():
                    continue
                position[int(message.partition() or 0)] = int(message.offset() or 0)
                found.setdefault(message.key() or b"", []).append(message)
        return found
    finally:
        reader.close()


def finance_figures() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    ledger = list(
        FinanceLedgerEntry.objects.order_by("payment_id").values_list(
            "payment_id", "captured", "refunded", "platform_revenue", "payout_paid", "settled"
        )
    )
    open_positions = list(FinanceOpenPayment.objects.order_by("payment_id").values_list("payment_id", "status", "held", "balance_due"))
    return ledger, open_positions


def test_the_broker_compacts_a_settled_payment_away_and_a_rebuild_gives_the_same_figures(broker, customer) -> None:
    topic = kafka_topic(Topic.PAYMENTS)
    admin = make_admin()
    resource = ConfigResource(
        "topic", topic, incremental_configs=[ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in COMPACT_NOW.items()]
    )
    admin.incremental_alter_configs([resource])[resource].result(timeout=10)

    settled_job, bob, settled_acceptance = booked(customer, name="bobsettled")
    open_job, _, open_acceptance = booked(customer, name="bobopen")
    job_services.job_start_work(job=settled_job, actor=bob)
    job_services.job_complete(job=settled_job, actor=bob)
    relay_all()
    payments_consumer = get_consumer("payments")
    run_consumer_until(lambda: Payment.objects.get(job=settled_job).status == Payment.Status.AWAITING_APPROVAL, payments_consumer)
    payment_approve(payment=Payment.objects.get(job=settled_job), actor=customer)
    relay_all()
    run_consumer_until(
        after_payments_executor(lambda: Payment.objects.get(job=settled_job).status == Payment.Status.PAID), payments_consumer
    )
    pay_out(bob)  # settled once the tradesperson is paid out too
    relay_all()
    settled = Payment.objects.get(job=settled_job)
    still_open = Payment.objects.get(job=open_job)
    finance = get_consumer("finance")
    run_consumer_until(
        lambda: (
            FinanceLedgerEntry.objects.filter(payment_id=settled.pk, settled=True).exists()
            and FinanceOpenPayment.objects.filter(payment_id=still_open.pk).exists()
        ),
        finance,
    )
    before = finance_figures()
    assert before[1] == [(still_open.pk, "deposit_held", open_acceptance.deposit, open_acceptance.balance)]
    assert before[0][0][:2] == (settled.pk, settled_acceptance.total) and before[0][0][-1] is True

    held = records_by_key(topic)
    settled_key, open_key = str(settled.pk).encode(), str(still_open.pk).encode()
    assert len(held[settled_key]) >= 3 and held[settled_key][-1].value() is None  # snapshots, then the tombstone
    open_records = len(held[open_key])

    # The cleaner only compacts closed segments, and removes a tombstone in a later pass than the records it
    # deleted: keep rolling segments (a bare tombstone of a key no payment has, which the finance handler skips).
    filler = Producer({"bootstrap.servers": settings.KAFKA["BOOTSTRAP_SERVERS"]})
    started = time.monotonic()

    def compacted() -> bool:
        filler.produce(topic, key=b"compaction-filler", value=None, partition=0)
        filler.produce(topic, key=b"compaction-filler", value=None, partition=held[settled_key][0].partition())
        filler.flush(10)
        time.sleep(0.4)
        return settled_key not in records_by_key(topic)

    wait_until(compacted, timeout=90, interval=0.5, message="the broker to compact the settled payment away")
    after_compaction = records_by_key(topic)
    print(
        f"\ncompaction: payment {settled.pk}'s {len(held[settled_key])} records (tombstone last) gone after "
        f"{time.monotonic() - started:.1f} s; open payment {still_open.pk} keeps {len(after_compaction[open_key])} of {open_records}",
        flush=True,
    )
    assert after_compaction[open_key][-1].value() is not None  # the latest snapshot of an open payment always stays

    result = rebuild(finance, source="kafka")
    assert result.invalid == 0
    assert finance_figures() == before
    assert FinanceLedgerEntry.objects.get(payment_id=settled.pk).captured == settled_acceptance.total
    assert Decimal(FinanceOpenPayment.objects.get(payment_id=still_open.pk).held) == open_acceptance.deposit
