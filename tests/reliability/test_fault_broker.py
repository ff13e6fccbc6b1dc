"""Fault injection with a loss ledger: the broker's volume lost under load, the broker restarted EMPTY.

A broker that keeps its log comes back with everything (tests/reliability/test_cluster.py kills one
of three).  Here its data directory is wiped while it is down, as a lost volume would be: every
message and every committed offset is gone.  Daphne, the outbox relay and the ``jobs-board`` consumer run as
child processes; client threads post jobs over HTTP and edit every third.  A third of the
way in, the broker is killed.  Posting goes on (the API only writes Postgres: jobs and
their outbox rows), the outbox grows.  Then the operator recovers as the README says
("Recovering from a broker that lost its data"):

1. stop the relay (a SIGKILL is fine: an unmarked row is simply sent again) and the consumers;
2. start the broker and create the topics (``kafka_topics``);
3. ``republish_outbox``: every retained row is queued again, behind nothing;
4. start the consumers (their committed offsets were on the lost broker: they read the new log from the start);
5. start the relay: it sends the whole retained outbox in id order, so per key in sequence order.

The ledger at the end: nothing accepted is lost (jobs, outbox, the new topic, the inbox,
the read model), the events the consumer had already applied come back and are absorbed
by its inbox (counted), and per key the consumer applied events in sequence order.
"""

from __future__ import annotations

import io
import os
import threading
import time

import pytest
from confluent_kafka import KafkaException, TopicPartition
from django.core.management import call_command

from jobs.models import JobBoardEntry
from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from marketplace.events.kafka import make_consumer
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.events.relay import OutboxRelay
from marketplace.events.runner import ConsumerRunner
from tests.factories import TradeFactory, post_job
from tests.reliability.test_fault_postgres import CONSUMER, KINDS, Workload, check_ledger
from tests.reliability.test_loss_ledger import absorbed_by, topic_ledger
from tests.support import _answers, daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

N = 150
THREADS = 3
TOPIC = "marketplace.jobs"


def messages_on(topic: str) -> int:
    """How many messages the broker holds for ``topic`` (high watermarks summed)."""
    reader = make_consumer(f"fault-broker-count-{time.monotonic_ns()}", "fault-broker-count")

    def count() -> int | None:
        try:
            partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
            return sum(reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
        except KafkaException:  # a broker that just started may not lead its partitions yet
            return None

    try:
        return int(wait_until(lambda: (n := count()) is not None and (n,), timeout=30, message=f"the size of {topic}")[0])
    finally:
        reader.close()


def test_a_relay_left_running_publishes_again_once_the_broker_is_back_empty(private_broker, customer) -> None:
    """Its idempotent producer is unknown to the new broker (every send would time out, forever): the relay replaces it."""
    post_job(customer)
    relay = OutboxRelay()
    assert relay.drain() == 1
    private_broker.stop()
    private_broker.wipe()
    private_broker.start()
    call_command("kafka_topics", wait=20, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    post_job(customer, title="Posted after the restart")
    started = time.monotonic()
    assert relay.drain(timeout=60) == 1  # the first try times out (message.timeout.ms), the fresh producer delivers
    print(f"\nrelay left running: published again {time.monotonic() - started:.1f} s after the broker came back empty", flush=True)
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert messages_on(TOPIC) == 1


def test_a_consumer_whose_offset_commit_fails_keeps_the_stored_batch_and_carries_on(private_broker, customer) -> None:
    """The broker goes away between the batch's transaction and its offset commit: no crash; redelivery is absorbed."""
    job = post_job(customer)
    assert OutboxRelay().drain() == 1
    runner = ConsumerRunner(get_consumer(CONSUMER))
    runner.consumer.subscribe(runner.spec.kafka_topic_names)
    messages = wait_until(runner._poll, timeout=30, message="the event")
    private_broker.stop()
    started = time.monotonic()
    runner.process_batch(messages)  # stored in Postgres; the commit fails (no coordinator) and is logged, not raised
    print(f"\nconsumer commit without a broker: returned after {time.monotonic() - started:.1f} s", flush=True)
    assert JobBoardEntry.objects.filter(job_id=job.pk).exists()
    assert ProcessedEvent.objects.filter(consumer=CONSUMER).count() == 1 and runner.stats.processed == 1


def test_broker_restarted_empty_under_load_is_refilled_from_the_outbox_without_loss(private_broker) -> None:
    TradeFactory(slug="plumbing", name="Plumbing")
    customer = User.objects.create_user("fault_broker_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    token = api_token_create(user=customer)[1]
    env = subprocess_env(private_broker, CONSUMER_BATCH_SIZE="20", OUTBOX_BATCH_SIZE="50", LOG_EVENTS="WARNING")
    port = free_port()
    web = daphne(port, env).start()
    base = f"http://127.0.0.1:{port}"
    relay = manage("fault-broker-relay-1", "outbox_relay", env=env).start()
    consumers = [manage("fault-broker-consumer-1", "consume", CONSUMER, env=env).start()]
    try:
        wait_until(lambda: _answers(base), timeout=90, message="daphne to listen")
        workload = Workload(base, token, N, retries=1)
        threads = [threading.Thread(target=workload.worker, daemon=True) for _ in range(THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        wait_until(lambda: workload.count() >= N * 0.3, timeout=90, message="a third of the workload")
        wait_until(lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).exists(), timeout=60, message="the consumer to apply")

        private_broker.kill()
        private_broker.wipe()  # a lost volume: every message and committed offset is gone
        published_before = OutboxEvent.objects.filter(published_at__isnull=False).count()
        applied_before = ProcessedEvent.objects.filter(consumer=CONSUMER).count()
        wait_until(lambda: workload.count() >= N * 0.6, timeout=90, message="posts during the outage")
        backlog = OutboxEvent.objects.filter(published_at__isnull=True).count()  # posted during the outage: waiting, not lost
        outage_s = time.monotonic() - started

        # --- the operator's recovery (README: "Recovering from a broker that lost its data") ---
        relay.kill()
        stopping = time.monotonic()
        consumers[-1].terminate()
        stop_consumer_s = time.monotonic() - stopping
        private_broker.start()  # the same port, empty
        call_command("kafka_topics", wait=20, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        on_new_broker = messages_on(TOPIC)
        out = io.StringIO()
        call_command("republish_outbox", stdout=out)
        requeued = int(out.getvalue().split()[0])  # "N events queued for re-publication"
        consumers.append(manage("fault-broker-consumer-2", "consume", CONSUMER, env=env).start())
        relay = manage("fault-broker-relay-2", "outbox_relay", env=env).start()

        for thread in threads:
            thread.join(timeout=120)
        posting_s = time.monotonic() - started
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=60, message="an empty outbox")
        wait_until(
            lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).count() >= OutboxEvent.objects.filter(event_type__in=KINDS).count(),
            timeout=60,
            message="the consumer to apply every event",
        )
        quiet_s = time.monotonic() - started
    finally:
        relay.terminate()
        for process in (*consumers, web):
            process.terminate()
    accepted, edited = set(workload.accepted), workload.edited
    ledger = check_ledger(customer, accepted, edited)
    on_topic = topic_ledger(TOPIC, KINDS, at_least=ledger.events)
    topic_order_violations, lost_from_kafka = on_topic.order_violations, on_topic.missing
    absorbed = sum(absorbed_by(process) for process in consumers)

    print(
        f"\nfault ledger (broker restarted empty): accepted {ledger.accepted} of {N} posts (+{len(edited)} edits) in {posting_s:.1f} s, "
        f"quiet after {quiet_s:.1f} s; HTTP {dict(sorted(workload.statuses.items()))}; broker killed at {published_before} events "
        f"published ({applied_before} applied), backlog {backlog} unpublished after {outage_s:.1f} s "
        f"(consumer stopped in {stop_consumer_s:.1f} s); messages on the restarted broker "
        f"{on_new_broker}; re-queued by republish_outbox {requeued}; jobs {ledger.jobs}, events {ledger.events}; lost {ledger.lost}, "
        f"missing on the new topic {lost_from_kafka}; partial writes {ledger.partial_writes}; duplicates absorbed by the inbox "
        f"{absorbed}; inbox rows per event max {ledger.inbox_max}; dead letters {ledger.dead_letters}; order violations per key "
        f"{ledger.order_violations} (applied), {topic_order_violations} (topic)",
        flush=True,
    )
    assert workload.bad == [] and set(workload.statuses) <= {200, 201}
    assert backlog > 0 and on_new_broker == 0  # posts waited in the outbox; the broker really came back empty
    assert ledger.lost == dict.fromkeys(ledger.lost, 0) and lost_from_kafka == 0
    assert ledger.partial_writes == dict.fromkeys(ledger.partial_writes, 0)
    assert ledger.inbox_max == 1 and ledger.posted_total == ledger.jobs  # applied exactly once
    assert absorbed >= applied_before > 0  # what was applied before the restart came back and was absorbed
    assert ledger.dead_letters == 0
    assert (ledger.order_violations, topic_order_violations) == (0, 0)
