"""The consumer runner: reads a consumer group's topics and applies events exactly once.

For each batch from ``consume()``:

1. Every message is decoded and validated; one that can never be processed
   (not JSON, unknown type, schema violation) is dead-lettered.  A message whose
   ``event_type`` header (set by the relay) names a type this handler does not
   handle is skipped before that, unread.
2. In one database transaction, the batch's inbox records ``(consumer, event_id)``
   are inserted in one statement and the new events applied (an event already in
   the inbox is skipped, so redelivery is harmless); a run of consecutive events
   of a type the handler has a ``bulk_<type>`` method for is applied in one call.
   If anything fails, the batch is re-applied one event at a time, each in its own
   savepoint through ``on_<type>``: a handler error is retried a few times, then
   the event is dead-lettered; the rest of the batch goes on.
3. After the commit: the batch hooks end (``hooks.py``; the live pushes go out),
   dead letters are produced to the ``<topic>.dlq`` topic with the error and origin
   in headers, and only then are the offsets stored.  librdkafka commits stored
   offsets to the broker in the background every ``KAFKA['COMMIT_INTERVAL_MS']``
   (1 s) and on close, instead of one synchronous commit per batch: at low load a
   batch is one or two events, and 15 groups committing each of them cost the
   broker more than the events did.  A crash can redeliver up to that interval's events, which the inbox
   absorbs, as it absorbs any redelivery.

Transient errors (database connection lost, :class:`Retryable`) roll back the
whole batch, which is retried with exponential backoff.  A burst of dead letters
above ``CONSUMERS['DLQ_LIMIT']`` per window stops the runner (nothing committed)
rather than dead-lettering a whole topic after a bad deploy.  What is retried,
what is dead-lettered and how a dead letter is kept is ``deadletters.py``.
``stop()`` (SIGTERM) lets the current batch finish and commit.

Liveness (``marketplace/ops/heartbeat.py``): every pass of the loop beats the
``consumer-<name>`` heartbeat.  ``ok`` while the consumer is a member of its group;
``degraded`` while the broker or the database is away (waiting for it: a restart would
not help); ``lost-group`` (the probe fails) when it has been out of its group for
``HEALTH['GROUP_LOST_AFTER_S']`` while the broker answers.  A loop that stops going
round stops beating, and its probe fails once the heartbeat is ``stale_after`` old.

Tombstones (null-valued messages on compacted topics):

- One produced by our relay (``emit_tombstone``) carries its envelope in an
  ``envelope`` header.  It decodes to an :class:`Envelope` with ``tombstone=True``
  and is an ordinary event from then on: inbox dedupe by its event id, the
  ``on_<type>`` handler method, retries, dead-lettering.  Its dead letter keeps the
  null value and every original header, so it can be re-driven.
- A bare tombstone (null value, no ``envelope`` header, e.g. from a foreign
  producer or a tool) is not poison and is never dead-lettered for being bare: if
  the handler defines ``on_bare_tombstone(topic, key)`` it is called in the batch's
  transaction, in partition order, with retries and dead-lettering if *it* fails
  (no inbox record: there is no event id, so the hook must be idempotent);
  otherwise the message is skipped and counted in ``stats.skipped``.  Either way
  its offset is committed and the partition moves on.
- A null value whose ``envelope`` header is not a valid envelope is poison.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from django.conf import settings
from django.db import connection, transaction

from marketplace.ops.heartbeat import Heartbeat

from . import bulk
from .context import consuming, correlation, delivered
from .deadletters import TRANSIENT_ERRORS, DeadLetters, PendingDeadLetter
from .envelope import BareTombstone, Envelope, InvalidMessage, decode_message, header
from .handlers import EventHandler
from .hooks import around_batch
from .kafka import group_id, make_consumer
from .models import ProcessedEvent
from .registry import ConsumerSpec

log = logging.getLogger(__name__)
# One line per applied event, logged with the event's correlation id (LOG_EVENTS=WARNING silences it).
trace = logging.getLogger("marketplace.events.trace")


class ShutdownRequested(Exception):
    """Stop was requested while a batch was waiting to be retried."""


@dataclass
class RunnerStats:
    batches: int = 0
    processed: int = 0
    duplicates: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    retries: int = 0


@dataclass
class _BatchState:
    dead_letters: list[PendingDeadLetter] = field(default_factory=list)


# What a batch applies: an event, or a bare tombstone for the handler's on_bare_tombstone hook.
_Item = Envelope | BareTombstone


def record_inbox(consumer_name: str, events: list[Envelope]) -> set[uuid.UUID]:
    """Insert inbox rows for ``events`` in one statement; return the ids that were new."""
    unique = {event.event_id: event.event_type for event in events}
    rows = bulk.execute(
        f"""INSERT INTO {ProcessedEvent._meta.db_table} (consumer, event_id, event_type, processed_at)
            SELECT %b::text, ids.event_id, ids.event_type, now()
            FROM unnest(%b::uuid[], %b::text[]) AS ids(event_id, event_type)
            ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id""",
        [consumer_name, list(unique), list(unique.values())],
    )
    return {row[0] for row in rows}


def apply_event(consumer_name: str, handler: EventHandler, event: Envelope) -> bool:
    """Apply one event with its inbox record in the current transaction.

    Returns False (and changes nothing) when this consumer already applied it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {ProcessedEvent._meta.db_table} (consumer, event_id, event_type, processed_at)
                VALUES (%s, %s, %s, now()) ON CONFLICT (consumer, event_id) DO NOTHING RETURNING id""",
            [consumer_name, event.event_id, event.event_type],
        )
        if cursor.fetchone() is None:
            return False
    with correlation(event.correlation_id, str(event.event_id)), consuming(consumer_name):
        handler.handle(event)
        _trace_applied(consumer_name, event)
    return True


def _trace_applied(consumer_name: str, event: Envelope) -> None:
    trace.info(
        "consumer %s: applied %s %s (%s %s #%d)",
        consumer_name,
        event.event_type,
        event.event_id,
        event.aggregate_type,
        event.aggregate_id,
        event.sequence,
        # The ids as extras (the log filter keeps them), so a caller outside correlation() logs them too.
        extra={
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "correlation_id": event.correlation_id,
            "causation_id": str(event.event_id),
        },
    )


def apply_bare_tombstone(consumer_name: str, handler: EventHandler, tombstone: BareTombstone) -> None:
    """Hand a bare tombstone to the handler's ``on_bare_tombstone`` hook (no inbox: it has no id)."""
    with consuming(consumer_name):
        handler.handle_bare_tombstone(tombstone.topic, tombstone.key)


class ConsumerRunner:
    def __init__(
        self,
        spec: ConsumerSpec,
        *,
        consumer: Consumer | None = None,
        dlq_producer: Producer | None = None,
        group: str | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.spec = spec
        self.handler = spec.make_handler()
        self.group = group or group_id(spec.name)
        overrides: dict[str, Any] = {
            "enable.auto.commit": True,
            "auto.commit.interval.ms": int(settings.KAFKA["COMMIT_INTERVAL_MS"]),
        }
        # Static membership: the same id after a restart takes the same partitions back without a rebalance,
        # as long as it returns within the session timeout.  Unique per member of a group (pod or process name).
        instance = settings.KAFKA["GROUP_INSTANCE_ID"] if instance_id is None else instance_id
        if instance:
            overrides["group.instance.id"] = instance
        self.consumer = consumer or make_consumer(self.group, f"consumer-{spec.name}", **overrides)
        self.dead_letters = DeadLetters(spec, producer=dlq_producer)
        self.policy = self.dead_letters.policy
        self.batch_size: int = settings.CONSUMERS["BATCH_SIZE"]
        self.stop_event = threading.Event()
        self.stats = RunnerStats()
        self._assigned: set[tuple[str, int]] = set()
        self.heartbeat = Heartbeat(f"consumer-{spec.name}")
        self._out_of_group_since: float | None = time.monotonic()  # not yet a member
        self._broker_checked_at = 0.0
        self._broker_answers = True
        self._joined = False
        # Per event type: does the handler take it at all, and in bulk?  (getattr per message adds up.)
        self._handles: dict[str, bool] = {}
        self._bulk: dict[str, bool] = {}

    # --- lifecycle --------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()

    def run(self, *, idle_timeout: float | None = None) -> RunnerStats:
        """Consume until stopped (or until ``idle_timeout`` seconds pass with no message)."""
        self.consumer.subscribe(self.spec.kafka_topic_names, on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("consumer %s: subscribed to %s as group %s", self.spec.name, ", ".join(self.spec.kafka_topic_names), self.group)
        last_message = time.monotonic()
        self.heartbeat.beat("starting")
        try:
            while not self.stop_event.is_set():
                self.check_health()
                messages = self._poll()
                if messages:
                    last_message = time.monotonic()
                    self.process_batch(messages)
                elif idle_timeout is not None and time.monotonic() - last_message > idle_timeout:
                    break
        except ShutdownRequested:
            log.info("consumer %s: stopping with an uncommitted batch; it will be redelivered", self.spec.name)
        finally:
            self.heartbeat.remove()
            self.consumer.close()
            self.dead_letters.close(5)
            s = self.stats
            log.info(
                "consumer %s: stopped; processed %d, duplicates %d, dead-lettered %d, retries %d",
                self.spec.name,
                s.processed,
                s.duplicates,
                s.dead_lettered,
                s.retries,
            )
        return self.stats

    def check_health(self) -> str:
        """Beat the heartbeat with this consumer's state (``ok``, ``degraded``, ``lost-group``); return it."""
        now = time.monotonic()
        # A member id means the group coordinator knows us (even with no partition: more members than
        # partitions is legitimate); librdkafka clears it when the session is lost or we leave.
        if self.consumer.memberid():
            self._out_of_group_since = None
            self._joined = True
            self.heartbeat.beat("ok", partitions=len(self._assigned))
            return "ok"
        if self._out_of_group_since is None:
            self._out_of_group_since = now
            log.warning("consumer %s: not a member of group %s; rejoining", self.spec.name, self.group)
        out_for = now - self._out_of_group_since
        if out_for < float(settings.HEALTH["GROUP_LOST_AFTER_S"]):
            status = "ok" if self._joined else "starting"  # a rebalance or a first join takes a few seconds
            self.heartbeat.beat(status, reason="joining the group")
            return status
        if now - self._broker_checked_at > 5:
            self._broker_checked_at = now
            try:
                self.consumer.list_topics(timeout=2)
                self._broker_answers = True
            except KafkaException:
                self._broker_answers = False
        if not self._broker_answers:
            self.heartbeat.beat("degraded", reason="broker unreachable; waiting for it")
            return "degraded"
        self.heartbeat.beat("lost-group", reason=f"out of group {self.group} for {out_for:.0f} s while the broker answers")
        return "lost-group"

    def _waiting_for_dead_letters(self) -> None:
        self.heartbeat.beat("degraded", reason="dead-letter topic unreachable; retrying")

    def _poll(self) -> list[Message]:
        # consume(n, timeout) waits for n messages or the timeout, which would add the
        # whole timeout to every event's latency at low load.  So block for the first
        # message only, then take whatever is already fetched, up to the batch size.
        first = self.consumer.poll(0.5)
        if first is None:
            return []
        messages = [first, *self.consumer.consume(self.batch_size - 1, 0)]
        good: list[Message] = []
        for message in messages:
            err = message.error()
            if err is None:
                good.append(message)
            elif err.code() == KafkaError._PARTITION_EOF:
                continue
            elif err.fatal():
                raise KafkaException(err)
            else:
                log.warning("consumer %s: %s", self.spec.name, err)
        return good

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.update((p.topic, p.partition) for p in partitions)
        log.info("consumer %s: assigned %s", self.spec.name, _fmt(partitions))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # A batch's offsets are stored before the next consume() call, and rebalance callbacks
        # only run inside consume(); librdkafka commits stored offsets of revoked partitions.
        self._assigned.difference_update((p.topic, p.partition) for p in partitions)
        log.info("consumer %s: revoked %s", self.spec.name, _fmt(partitions))

    # --- one batch ----------------------------------------------------------------------

    def process_batch(self, messages: list[Message]) -> None:
        """Apply a batch exactly once and commit its offsets (see the module docstring)."""
        attempt = 0
        while True:
            state = _BatchState()
            try:
                with around_batch(), transaction.atomic():
                    pending = self._decode_all(messages, state)
                    positions = {
                        item.event_id: (str(message.topic()), int(message.partition() or 0), int(message.offset() or 0))
                        for message, item in pending
                        if isinstance(item, Envelope)
                    }
                    with delivered(positions):
                        if not self._apply_together(pending):
                            for message, event in pending:
                                self._apply_one(message, event, state)
                break
            except TRANSIENT_ERRORS as exc:
                attempt += 1
                self.stats.retries += 1
                delay = self.policy.batch_retry_delay(attempt)
                log.warning(
                    "consumer %s: transient error (%s); retrying batch of %d in %.1f s",
                    self.spec.name,
                    exc,
                    len(messages),
                    delay,
                )
                connection.close()  # a broken connection must not be reused
                self.heartbeat.beat("degraded", reason="database unavailable; retrying the batch")
                if self.stop_event.wait(delay):
                    raise ShutdownRequested from exc
        if not self.dead_letters.publish(state.dead_letters, self.stop_event, while_waiting=self._waiting_for_dead_letters):
            raise ShutdownRequested
        try:
            for message in messages:
                self.consumer.store_offsets(message=message)
        except KafkaException as exc:
            # The batch is in Postgres (inbox and effects); only its offsets could not be stored (a rebalance
            # revoked the partitions).  Crashing would not help: whoever reads these messages next finds them
            # in the inbox and skips them.
            if exc.args and isinstance(exc.args[0], KafkaError) and exc.args[0].fatal():
                raise
            log.warning("consumer %s: offsets not stored (%s); the batch will be redelivered and absorbed", self.spec.name, exc)
        self.stats.batches += 1

    def _decode_all(self, messages: list[Message], state: _BatchState) -> list[tuple[Message, _Item]]:
        """Decode a batch; dead-letter what can never be processed; drop what this handler ignores."""
        pending: list[tuple[Message, _Item]] = []
        for message in messages:
            # The relay names the type in a header: an event this handler ignores is skipped
            # before the JSON parse and schema validation (most of a message's cost here).
            # Tombstones and messages without the header take the full path.
            claimed = header(message.headers(), "event_type") if message.value() is not None else None
            if isinstance(claimed, bytes) and not self._takes(claimed.decode(errors="replace")):
                self.stats.skipped += 1
                continue
            try:
                event = decode_message(message)
            except BareTombstone as tombstone:
                if self.handler.handles_bare_tombstones():
                    pending.append((message, tombstone))
                else:
                    log.info("consumer %s: skipping %s", self.spec.name, tombstone)
                    self.stats.skipped += 1
                continue
            except InvalidMessage as exc:
                self._dead_letter(message, exc, state)
                continue
            if self._takes(event.event_type):
                pending.append((message, event))
            else:
                self.stats.skipped += 1
        return pending

    def _takes(self, event_type: str) -> bool:
        takes = self._handles.get(event_type)
        if takes is None:
            takes = self._handles[event_type] = self.handler.handles(event_type)
        return takes

    def _takes_in_bulk(self, event_type: str) -> bool:
        bulk = self._bulk.get(event_type)
        if bulk is None:
            bulk = self._bulk[event_type] = self.handler.handles_in_bulk(event_type)
        return bulk

    def _apply_run(self, run: list[Envelope]) -> int:
        """Apply (and empty) a run of consecutive events of one bulk-handled type; return how many."""
        if not run:
            return 0
        events = run[:]
        run.clear()
        first = events[0]
        with correlation(first.correlation_id, str(first.event_id)):
            if len(events) == 1:
                self.handler.handle(first)
            else:
                self.handler.handle_bulk(events)
        if trace.isEnabledFor(logging.INFO):
            for event in events:
                _trace_applied(self.spec.name, event)
        return len(events)

    def _apply_together(self, pending: list[tuple[Message, _Item]]) -> bool:
        """The fast path: one savepoint and one inbox INSERT for the whole batch.

        Returns False (with everything rolled back) if any handler fails; the
        caller then applies the batch one event at a time to isolate the culprit.
        """
        if not pending:
            return True
        applied = 0
        try:
            with transaction.atomic():
                events = [item for _, item in pending if isinstance(item, Envelope)]
                fresh = record_inbox(self.spec.name, events) if events else set()
                with consuming(self.spec.name):
                    run: list[Envelope] = []  # consecutive events of one type the handler takes in bulk
                    for _, event in pending:
                        if isinstance(event, BareTombstone):  # no inbox record: it has no event id
                            applied += self._apply_run(run)
                            self.handler.handle_bare_tombstone(event.topic, event.key)
                            applied += 1
                            continue
                        if event.event_id not in fresh:
                            continue
                        fresh.discard(event.event_id)  # a duplicate inside this batch applies once
                        if self._takes_in_bulk(event.event_type):
                            if run and run[0].event_type != event.event_type:
                                applied += self._apply_run(run)
                            run.append(event)
                            continue
                        applied += self._apply_run(run)
                        with correlation(event.correlation_id, str(event.event_id)):
                            self.handler.handle(event)
                            _trace_applied(self.spec.name, event)
                        applied += 1
                    applied += self._apply_run(run)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            log.info("consumer %s: batch of %d failed together (%r); applying one at a time", self.spec.name, len(pending), exc)
            return False
        self.stats.processed += applied
        self.stats.duplicates += len(pending) - applied
        return True

    def _apply_one(self, message: Message, item: _Item, state: _BatchState) -> None:
        if isinstance(item, Envelope):
            event: Envelope | None = item
            what = f"{item.event_type} {item.event_id}"
        else:
            event = None
            what = f"bare tombstone {item.topic} key {item.key!r}"
        last_error: Exception | None = None
        max_attempts = self.policy.max_attempts
        for attempt in range(1, max_attempts + 1):
            try:
                with transaction.atomic():  # a savepoint: one bad event does not undo the batch
                    if isinstance(item, Envelope):
                        applied = apply_event(self.spec.name, self.handler, item)
                    else:
                        apply_bare_tombstone(self.spec.name, self.handler, item)
                        applied = True
                if applied:
                    self.stats.processed += 1
                else:
                    self.stats.duplicates += 1
                return
            except TRANSIENT_ERRORS:
                raise
            except InvalidMessage as exc:
                self._dead_letter(message, exc, state, event)
                return
            except Exception as exc:
                last_error = exc
                log.warning(
                    "consumer %s: %s failed (attempt %d/%d): %r",
                    self.spec.name,
                    what,
                    attempt,
                    max_attempts,
                    exc,
                )
                if attempt < max_attempts and self.stop_event.wait(self.policy.event_retry_delay(attempt)):
                    raise ShutdownRequested from exc
        assert last_error is not None
        self._dead_letter(message, last_error, state, event, attempts=max_attempts)

    # --- dead letters (policy and publishing in deadletters.py) ---------------------------

    def _dead_letter(
        self,
        message: Message,
        exc: Exception,
        state: _BatchState,
        event: Envelope | None = None,
        attempts: int = 1,
    ) -> None:
        state.dead_letters.append(self.dead_letters.record(message, exc, event, attempts))
        self.stats.dead_lettered += 1


def _fmt(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in partitions) or "nothing"
