"""A three-broker Apache Kafka cluster loses a broker under load, and nothing accepted is lost.

Production's shape on one machine: three brokers that are also the controller quorum,
topics with replication 3 and ``min.insync.replicas`` 2, producers with ``acks=all``
(marketplace.events.kafka).  Daphne, the outbox relay and the ``jobs-board`` consumer run as
child processes against it; client threads post jobs over HTTP and edit every third.  A
third of the way in, the leader of the busiest partition of the jobs topic is SIGKILLed;
posting goes on (the other two brokers hold a majority and two in-sync replicas), and the
killed broker is started again later, on its own data, and catches up.

The ledger: accepted requests lost 0 at every stage (jobs, outbox, topic, inbox, read
model), duplicates (the relay's retries of unacknowledged sends) absorbed by the inbox,
and per job the consumer applied events in sequence order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import TopicPartition
from django.conf import settings
from django.core.management import call_command

from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from marketplace.devbroker import KafkaNode, cluster
from marketplace.events.kafka import make_admin, make_consumer
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.topics import Topic, kafka_topic
from tests.factories import TradeFactory
from tests.reliability.test_fault_postgres import CONSUMER, KINDS, Workload, check_ledger
from tests.reliability.test_loss_ledger import absorbed_by, topic_ledger
from tests.support import ARTIFACTS, _answers, daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

N = 150
THREADS = 3


@pytest.fixture
def three_brokers() -> Iterator[list[KafkaNode]]:
    # A dead broker is fenced after broker.session.timeout.ms (9 s by default); 4 s keeps the test short.
    fast_fencing = {"broker.session.timeout.ms": "4000", "broker.heartbeat.interval.ms": "1000"}
    nodes = cluster(ARTIFACTS / f"cluster-{time.monotonic_ns()}", 3, **fast_fencing)
    for node in nodes:
        node.heap_mb = 384
        node.start(wait=False)
    try:
        for node in nodes:
            node.wait_ready(90)
        previous = dict(settings.KAFKA)
        settings.KAFKA.update(
            {
                "BOOTSTRAP_SERVERS": ",".join(node.bootstrap for node in nodes),
                "REPLICATION_FACTOR": 3,
                "MIN_INSYNC_REPLICAS": 2,
                "TOPIC_PREFIX": "",
                "GROUP_PREFIX": f"cluster-{time.monotonic_ns()}",
            }
        )
        try:
            call_command("kafka_topics", wait=60, verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
            yield nodes
        finally:
            settings.KAFKA.clear()
            settings.KAFKA.update(previous)
    finally:
        for node in nodes:
            node.kill()


def busiest_partition_leader(topic: str) -> tuple[int, int]:
    """(partition, leader node id) of the partition with the most messages on ``topic``."""
    reader = make_consumer(f"cluster-probe-{time.monotonic_ns()}", "cluster-probe")
    try:
        partitions = reader.list_topics(topic, timeout=10).topics[topic].partitions
        sizes = {p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        busiest = max(sizes, key=lambda p: sizes[p])
        return busiest, int(partitions[busiest].leader)
    finally:
        reader.close()


def leader_of(topic: str, partition: int) -> int:
    return int(make_admin().list_topics(topic, timeout=10).topics[topic].partitions[partition].leader)


def fully_replicated(topic: str) -> bool:
    metadata = make_admin().list_topics(topic, timeout=10).topics[topic]
    return all(len(p.isrs) == 3 for p in metadata.partitions.values())


def test_a_three_broker_cluster_loses_the_leader_of_a_busy_partition_and_no_accepted_request_is_lost(three_brokers) -> None:
    topic = kafka_topic(Topic.JOBS)
    config = make_admin().list_topics(topic, timeout=10).topics[topic]
    assert all(len(p.replicas) == 3 for p in config.partitions.values())

    TradeFactory(slug="plumbing", name="Plumbing")
    customer = User.objects.create_user("cluster_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    token = api_token_create(user=customer)[1]
    env = subprocess_env(
        None,
        KAFKA_REPLICATION_FACTOR="3",
        KAFKA_MIN_INSYNC_REPLICAS="2",
        CONSUMER_BATCH_SIZE="20",
        OUTBOX_BATCH_SIZE="50",
        LOG_EVENTS="WARNING",
    )
    port = free_port()
    web = daphne(port, env).start()
    base = f"http://127.0.0.1:{port}"
    relay = manage("cluster-relay", "outbox_relay", env=env).start()
    consumer = manage("cluster-consumer", "consume", CONSUMER, env=env).start()
    try:
        wait_until(lambda: _answers(base), timeout=90, message="daphne to listen")
        workload = Workload(base, token, N, retries=3)
        threads = [threading.Thread(target=workload.worker, daemon=True) for _ in range(THREADS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        wait_until(lambda: workload.count() >= N * 0.3, timeout=120, message="a third of the workload")
        wait_until(lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).exists(), timeout=60, message="the consumer to apply")

        partition, leader = busiest_partition_leader(topic)
        victim = three_brokers[leader - 1]
        victim.kill()
        killed_at = time.monotonic()
        published_at_kill = OutboxEvent.objects.filter(published_at__isnull=False).count()
        new_leader = wait_until(
            lambda: (led_by := leader_of(topic, partition)) != leader and led_by, timeout=60, message="a new leader for the partition"
        )
        wait_until(lambda: workload.count() >= N * 0.7, timeout=120, message="posts with a broker down")
        victim.start(timeout=90)  # its own data: it catches up from the others
        down_s = time.monotonic() - killed_at

        for thread in threads:
            thread.join(timeout=180)
        posting_s = time.monotonic() - started
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=90, message="an empty outbox")
        wait_until(
            lambda: ProcessedEvent.objects.filter(consumer=CONSUMER).count() >= OutboxEvent.objects.filter(event_type__in=KINDS).count(),
            timeout=90,
            message="the consumer to apply every event",
        )
        wait_until(lambda: fully_replicated(topic), timeout=90, message="the restarted broker back in every ISR")
        quiet_s = time.monotonic() - started
    finally:
        relay.terminate()
        consumer.terminate()
        web.terminate()

    accepted, edited = set(workload.accepted), workload.edited
    ledger = check_ledger(customer, accepted, edited)
    on_topic = topic_ledger(str(Topic.JOBS), KINDS, at_least=ledger.events)
    topic_order_violations, duplicates_on_topic, lost_from_kafka = on_topic.order_violations, on_topic.duplicates, on_topic.missing
    absorbed = absorbed_by(consumer)

    print(
        f"\ncluster ledger (3 brokers, rf 3, min.insync 2, acks=all): accepted {ledger.accepted} of {N} posts "
        f"(+{len(edited)} edits) in {posting_s:.1f} s, quiet after {quiet_s:.1f} s; HTTP {dict(sorted(workload.statuses.items()))}; "
        f"SIGKILLed broker {leader} (leader of partition {partition}) at {published_at_kill} events published, down {down_s:.1f} s, "
        f"partition {partition} led by {new_leader} meanwhile; jobs {ledger.jobs}, events {ledger.events}; lost {ledger.lost}, "
        f"missing on the topic {lost_from_kafka}; partial writes {ledger.partial_writes}; duplicates on the topic "
        f"{duplicates_on_topic}, absorbed by the inbox {absorbed}; inbox rows per event max {ledger.inbox_max}; "
        f"dead letters {ledger.dead_letters}; order violations per job {ledger.order_violations} (applied), "
        f"{topic_order_violations} (topic)",
        flush=True,
    )
    assert workload.bad == [] and set(workload.statuses) <= {200, 201}
    assert new_leader != leader
    assert ledger.lost == dict.fromkeys(ledger.lost, 0) and lost_from_kafka == 0
    assert ledger.partial_writes == dict.fromkeys(ledger.partial_writes, 0)
    assert ledger.inbox_max == 1 and ledger.posted_total == ledger.jobs  # applied exactly once
    assert absorbed >= duplicates_on_topic  # every copy on the topic reached the consumer and was absorbed
    assert ledger.dead_letters == 0
    assert (ledger.order_violations, topic_order_violations) == (0, 0)
