"""Helpers to drive the real relay and consumer runner in-process during a test."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from django.db import connection

from marketplace.events.kafka import make_consumer
from marketplace.events.registry import ConsumerSpec, get_consumer
from marketplace.events.relay import OutboxRelay
from marketplace.events.runner import ConsumerRunner, RunnerStats
from marketplace.events.topics import kafka_topic
from tests.support import wait_until


def relay_all(**producer_overrides: Any) -> int:
    from marketplace.events.kafka import make_producer

    relay = OutboxRelay(make_producer("test-relay", **producer_overrides)) if producer_overrides else OutboxRelay()
    return relay.drain(timeout=30)


def run_consumer_until(
    done: Callable[[], Any],
    spec: ConsumerSpec | None = None,
    *,
    group: str | None = None,
    timeout: float = 30,
    runner: ConsumerRunner | None = None,
) -> RunnerStats:
    """Run a consumer in a thread until ``done()`` is true, then stop it cleanly."""
    runner = runner or ConsumerRunner(spec or get_consumer("jobs-board"), group=group)
    with running(runner) as failure:
        wait_until(lambda: failure or done(), timeout=timeout, message="the consumer to catch up")
    return runner.stats


@contextlib.contextmanager
def running(runner: ConsumerRunner) -> Iterator[list[BaseException]]:
    """``runner`` consuming in a thread for the block (which may wait on the list it yields: what the runner
    raised); stopped cleanly after it, and what it raised is raised here."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            runner.run()
        except BaseException as exc:
            failure.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield failure
    finally:
        runner.stop()
        thread.join(60)
    if failure:
        raise failure[0]
    assert not thread.is_alive(), "the consumer did not stop"


def read_topic(topic: str, *, expect: int, timeout: float = 20) -> list[Any]:
    """Every message on ``topic`` (its declared name; all partitions) once ``expect`` have arrived."""
    topic = kafka_topic(topic)
    consumer: Consumer = make_consumer(f"reader-{uuid.uuid4()}", "reader")
    messages: list[Any] = []
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        consumer.assign([TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions])

        def arrived() -> bool:
            messages.extend(m for m in consumer.consume(500, 0.2) if not m.error())
            return len(messages) >= expect

        wait_until(
            arrived,
            timeout=timeout,
            message=f"{expect} messages on {topic}",
        )
    finally:
        consumer.close()
    return messages


def committed_offsets(group: str, topic: str) -> dict[int, int]:
    topic = kafka_topic(topic)
    consumer: Consumer = make_consumer(group, "offset-reader")
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        parts = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        return {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
    finally:
        consumer.close()
