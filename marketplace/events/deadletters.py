"""Dead-letter policy: what is retried, what becomes a dead letter, and how a dead letter is kept.

The consumer runner (``runner.py``) applies batches; this module decides what happens to a message that
cannot be applied:

- A transient error (:data:`TRANSIENT_ERRORS`: the database connection lost, a handler's
  :class:`~marketplace.events.handlers.Retryable`) is never a dead letter: the whole batch is rolled back
  and retried with exponential backoff (:meth:`DeadLetterPolicy.batch_retry_delay`).
- Poison, a message that can never be processed (not JSON, an unknown type, a schema violation, a handler
  raising :class:`~marketplace.events.envelope.InvalidMessage`), is dead-lettered at once.
- Any other handler error is retried ``CONSUMERS['MAX_ATTEMPTS']`` times with a growing pause
  (:meth:`DeadLetterPolicy.event_retry_delay`), then dead-lettered; the rest of the batch goes on.
- More than ``CONSUMERS['DLQ_LIMIT']`` dead letters within ``DLQ_LIMIT_WINDOW_S`` raise
  :class:`DeadLetterLimitExceeded`: a burst like that is a bad deploy, not bad messages, and stopping
  (nothing committed) beats dead-lettering a whole topic.

A dead letter is kept twice: a :class:`~marketplace.events.models.DeadLetter` row, written in the batch's
transaction (admin and ``redrive_dead_letters`` work from it), and, after that transaction commits, the
original message (key, value, every header) on the topic's ``<topic>.dlq`` topic with the error and its
origin (consumer, topic, partition, offset) in ``dlq.*`` headers.  The runner stores the batch's offsets
only once the broker has acknowledged those (:meth:`DeadLetters.publish`), so a crash never loses one.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Message, Producer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from .envelope import Envelope
from .handlers import Retryable
from .models import DeadLetter
from .producer import AcknowledgedProducer, Header, OutgoingMessage
from .registry import ConsumerSpec

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, Retryable)

# The broker has this long to acknowledge a batch's dead letters before they are produced again.
PUBLISH_TIMEOUT_S = 30.0


class DeadLetterLimitExceeded(RuntimeError):
    """Too many dead letters in a short window: probably a bad deploy, so stop instead."""


@dataclass(frozen=True)
class DeadLetterPolicy:
    max_attempts: int
    backoff_base: float
    backoff_max: float
    limit: int
    window: float

    @classmethod
    def from_settings(cls) -> DeadLetterPolicy:
        conf = settings.CONSUMERS
        return cls(
            max_attempts=conf["MAX_ATTEMPTS"],
            backoff_base=conf["BACKOFF_BASE_S"],
            backoff_max=conf["BACKOFF_MAX_S"],
            limit=conf["DLQ_LIMIT"],
            window=conf["DLQ_LIMIT_WINDOW_S"],
        )

    def batch_retry_delay(self, attempt: int) -> float:
        """Pause before retrying a whole batch after its ``attempt``-th transient error."""
        return min(self.backoff_base * 2**attempt, self.backoff_max)

    def event_retry_delay(self, attempt: int) -> float:
        """Pause before retrying one event after its ``attempt``-th handler error."""
        return self.backoff_base * attempt


@dataclass(frozen=True)
class PendingDeadLetter:
    """A dead letter recorded in the database, still to be produced to its dead-letter topic."""

    dlq_topic: str
    message: Message
    error: str
    error_class: str


class DeadLetters:
    """One consumer's dead letters: the burst limit, the database record, the dead-letter topic."""

    def __init__(self, spec: ConsumerSpec, *, producer: Producer | None = None, policy: DeadLetterPolicy | None = None) -> None:
        self.spec = spec
        self.policy = policy or DeadLetterPolicy.from_settings()
        self._given_producer = producer
        self._producer: AcknowledgedProducer | None = None  # made on the first dead letter: most consumers never need one
        self._times: deque[float] = deque()

    def record(self, message: Message, exc: Exception, event: Envelope | None = None, attempts: int = 1) -> PendingDeadLetter:
        """Write the dead letter's row (in the caller's transaction); raise DeadLetterLimitExceeded past the limit.

        Idempotent per (consumer, topic, partition, offset): a redelivered poison message updates its row.
        """
        now = time.monotonic()
        self._times.append(now)
        while self._times and now - self._times[0] > self.policy.window:
            self._times.popleft()
        if len(self._times) > self.policy.limit:
            raise DeadLetterLimitExceeded(
                f"consumer {self.spec.name}: more than {self.policy.limit} dead letters in {self.policy.window:.0f} s "
                f"(last: {exc!r}); stopping without committing. Fix the cause, then restart."
            )
        error = f"{type(exc).__name__}: {exc}"
        topic = message.topic() or ""
        partition = message.partition() or 0
        offset = message.offset() or 0
        log.error("consumer %s: dead-lettering %s[%d]@%d: %s", self.spec.name, topic, partition, offset, error)
        key = message.key()
        DeadLetter.objects.update_or_create(
            consumer=self.spec.name,
            topic=topic,
            partition=partition,
            offset=offset,
            defaults={
                "key": key.decode(errors="replace") if key else "",
                "value": message.value(),
                "headers": {k: v.decode(errors="replace") if isinstance(v, bytes) else v for k, v in headers_of(message) if v is not None},
                "event_id": event.event_id if event else None,
                "event_type": event.event_type if event else "",
                "error": error + ("\n" + "".join(traceback.format_exception(exc))[-4000:] if attempts > 1 else ""),
                "error_class": f"{type(exc).__module__}.{type(exc).__qualname__}",
                "attempts": attempts,
                "status": DeadLetter.Status.PENDING,
            },
        )
        return PendingDeadLetter(self.spec.dlq_for(topic), message, error, f"{type(exc).__qualname__}")

    def publish(
        self, pending: list[PendingDeadLetter], stop_event: threading.Event, *, while_waiting: Callable[[], None] | None = None
    ) -> bool:
        """Produce dead letters (after the DB commit) and wait until the broker has them all.

        Retries with backoff until it does; returns False if ``stop_event`` was set while waiting to retry.
        """
        if not pending:
            return True
        messages = [self._outgoing(item) for item in pending]
        delay = self.policy.backoff_base
        while True:
            acks = self.producer.send(messages, timeout=PUBLISH_TIMEOUT_S)
            if acks.complete:
                return True
            log.warning("consumer %s: dead-letter topic not reachable (%s); retrying", self.spec.name, acks.first_error())
            # The next pass produces every pending dead letter again, so a fresh producer loses nothing;
            # one the old one still delivers is a harmless duplicate.
            self.producer.replace()
            if while_waiting is not None:
                while_waiting()  # the runner's heartbeat: waiting for the broker is not being stuck
            if stop_event.wait(delay):
                return False
            delay = min(delay * 2, self.policy.backoff_max)

    def close(self, timeout: float = 5) -> None:
        if self._producer is not None:
            self._producer.flush(timeout)

    @property
    def producer(self) -> AcknowledgedProducer:
        if self._producer is None:
            self._producer = AcknowledgedProducer(f"dlq-{self.spec.name}", self._given_producer)
        return self._producer

    def _outgoing(self, item: PendingDeadLetter) -> OutgoingMessage:
        msg = item.message
        headers: list[Header] = [
            *headers_of(msg),
            ("dlq.error", item.error[:1000].encode()),
            ("dlq.error_class", item.error_class.encode()),
            ("dlq.consumer", self.spec.name.encode()),
            ("dlq.original_topic", (msg.topic() or "").encode()),
            ("dlq.original_partition", str(msg.partition()).encode()),
            ("dlq.original_offset", str(msg.offset()).encode()),
        ]
        return OutgoingMessage(item.dlq_topic, msg.key(), msg.value(), headers)


def headers_of(message: Message) -> list[Header]:
    raw = message.headers() or []
    return list(raw.items()) if isinstance(raw, dict) else list(raw)
