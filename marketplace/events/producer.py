"""The acknowledged producer: hand Kafka a batch and wait until the cluster has every message, or knows why not.

The outbox relay (outbox rows), the consumer runner (dead letters) and the tracking API (GPS pings) all need
the same thing from Kafka, so it is written once, here:

- Producers come from :func:`~marketplace.events.kafka.make_producer`: idempotent, ``acks=all``, so the
  client's own retries neither duplicate nor reorder a partition's messages.
- A full local queue (``BufferError``) is drained by polling (which serves delivery reports and frees
  room), then the message is produced again.  Nothing is dropped for want of queue space.
- :func:`send_and_wait` returns only when every message has a delivery report (``message.timeout.ms``
  bounds that), or at an optional deadline, or when the client raises (a fatal error such as a producer id
  the cluster no longer knows).  Messages after one the client refused are not produced: a key's order
  would break.
- :class:`AcknowledgedProducer` can replace its producer.  An idempotent producer whose broker lost its
  producer id (a broker that lost its volume; a cluster can also expire an idle producer's id) fails every
  later send, fatally or by timing out, forever; only a fresh producer (a new id) recovers.  The caller
  decides when (after waiting for every report, so nothing is in flight and nothing is lost); a producer
  handed in from outside (a test's) is never replaced, because its configuration is not ours to repeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from .kafka import make_producer

Header = tuple[str, str | bytes | None]

# How long to poll for delivery reports when the local queue is full before producing again.
QUEUE_FULL_POLL_S = 0.1
# One wait step: a flush or poll returns earlier as soon as there is something to report.
FLUSH_STEP_S = 1.0
SHARED_POLL_STEP_S = 0.01


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str  # as named on the broker (topics.kafka_topic / dead_letter_topic)
    key: bytes | None
    value: bytes | None
    headers: Sequence[Header] = ()


@dataclass
class Acks:
    """What the cluster said about each message of a batch, by its index in the batch."""

    total: int
    delivered: dict[int, Message] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    # An error the client raised (rather than reported per message); the batch's unreported messages failed with it.
    raised: KafkaException | None = None

    @property
    def unreported(self) -> int:
        """Messages still without a report when the deadline passed: neither delivered nor failed, yet."""
        return self.total - len(self.delivered) - len(self.failed)

    @property
    def complete(self) -> bool:
        return len(self.delivered) == self.total

    def first_error(self) -> str:
        if self.raised is not None:
            return str(self.raised)
        return next(iter(self.failed.values()), "no delivery report in time" if self.unreported else "")

    def _callback(self, index: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is None:
                self.delivered[index] = msg
            else:
                self.failed[index] = str(err)

        return on_delivery

    def _fail_unreported(self, error: str) -> None:
        for index in range(self.total):
            if index not in self.delivered:
                self.failed.setdefault(index, error)


def send_and_wait(
    producer: Producer,
    messages: Sequence[OutgoingMessage],
    *,
    timeout: float | None = None,
    shared: bool = False,
    while_waiting: Callable[[], None] | None = None,
) -> Acks:
    """Produce ``messages`` in order and wait for their delivery reports; a Kafka error is returned, not raised.

    ``timeout`` (seconds) bounds the wait; without it the wait ends when every message is reported, which
    ``message.timeout.ms`` guarantees.  ``shared``: other threads produce with this producer too (the web
    process's ping producer), so wait by polling; a flush would also wait for their messages.  An owned
    producer waits by flushing, which sends at once instead of after ``linger.ms``.  ``while_waiting`` is
    called after each step of the wait (a heartbeat: waiting for the broker is not being stuck).
    """
    acks = Acks(total=len(messages))
    try:
        _produce_all(producer, messages, acks)
        deadline = None if timeout is None else time.monotonic() + timeout
        while acks.unreported:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            if shared:
                producer.poll(SHARED_POLL_STEP_S)
            else:
                producer.flush(FLUSH_STEP_S if left is None else min(FLUSH_STEP_S, left))
            if while_waiting is not None and acks.unreported:
                while_waiting()
    except KafkaException as exc:  # fatal, e.g. the cluster no longer knows this idempotent producer
        acks.raised = exc
        acks._fail_unreported(str(exc))
    return acks


def _produce_all(producer: Producer, messages: Sequence[OutgoingMessage], acks: Acks) -> None:
    for index, message in enumerate(messages):
        while True:
            try:
                producer.produce(
                    message.topic, key=message.key, value=message.value, headers=list(message.headers), on_delivery=acks._callback(index)
                )
                break
            except BufferError:
                producer.poll(QUEUE_FULL_POLL_S)
            except KafkaException as exc:
                # Refused here (too large, unknown topic, a fatal state).  The rest is not produced either, or a
                # key's order would break; what is already in flight is still waited for.
                acks.raised = exc
                for later in range(index, len(messages)):
                    acks.failed[later] = str(exc)
                return


class AcknowledgedProducer:
    """One producer of our own making (or handed in), used through :func:`send_and_wait`, replaceable."""

    def __init__(self, client_suffix: str, producer: Producer | None = None, **overrides: Any) -> None:
        self._client_suffix = client_suffix
        self._overrides = overrides
        self.producer = producer or make_producer(client_suffix, **overrides)
        self.owned = producer is None

    def send(
        self, messages: Sequence[OutgoingMessage], *, timeout: float | None = None, while_waiting: Callable[[], None] | None = None
    ) -> Acks:
        return send_and_wait(self.producer, messages, timeout=timeout, while_waiting=while_waiting)

    def replace(self) -> None:
        """Start over with a fresh producer (a new producer id), if this one is ours; see the module docstring."""
        if self.owned:
            self.producer = make_producer(self._client_suffix, **self._overrides)

    def flush(self, timeout: float) -> int:
        return self.producer.flush(timeout)
