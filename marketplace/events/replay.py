"""Rebuilding read models from the log, re-driving dead letters, refilling a lost broker.

Tombstones replay like live: both sources yield a tombstone as an :class:`Envelope`
with ``tombstone=True`` (from the ``envelope`` header in Kafka, from the row's flag
in the outbox), and :func:`rebuild` applies it through the handler's ``on_<type>``
method.  A bare tombstone in Kafka (null value, no envelope) is yielded as a
:class:`~marketplace.events.envelope.BareTombstone` (an ``InvalidMessage`` carrying
topic and key); :func:`rebuild` passes it to the handler's ``on_bare_tombstone`` hook
if it has one and otherwise counts it as skipped, not invalid.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from django.db import transaction
from django.utils import timezone

from .envelope import BareTombstone, Envelope, InvalidMessage, decode, decode_message, from_dict
from .kafka import make_consumer
from .models import DeadLetter, OutboxEvent, ProcessedEvent
from .registry import ConsumerSpec, get_consumer
from .runner import apply_bare_tombstone, apply_event

log = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    applied: int = 0
    skipped: int = 0
    invalid: int = 0


def events_from_kafka(topics: list[str], *, timeout: float = 10.0) -> Iterator[Envelope | InvalidMessage]:
    """Every event currently in ``topics``, from the first offset to the high watermark.

    Partitions are assigned directly (no group membership), so this neither
    disturbs nor depends on the live consumer group.
    """
    consumer = make_consumer(f"replay-{uuid.uuid4()}", "replay")
    try:
        assignments: list[TopicPartition] = []
        ends: dict[tuple[str, int], int] = {}
        metadata = consumer.list_topics(timeout=timeout)
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
                if high > low:
                    ends[(topic, partition)] = high
                    assignments.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
        if not assignments:
            return
        consumer.assign(assignments)
        while ends:
            for message in consumer.consume(500, 1.0):
                if message.error():
                    continue
                where = (message.topic() or "", message.partition() or 0)
                offset = message.offset() or 0
                if where in ends and offset >= ends[where] - 1:
                    del ends[where]
                try:
                    yield decode_message(message)
                except InvalidMessage as exc:
                    yield exc
    finally:
        consumer.close()


def events_from_outbox(topics: list[str]) -> Iterator[Envelope | InvalidMessage]:
    """Every event still retained in the outbox for ``topics``, in commit order."""
    rows = OutboxEvent.objects.filter(topic__in=topics).order_by("id").values_list("envelope", "tombstone")
    for raw, tombstone in rows.iterator(2000):
        try:
            yield from_dict(raw, tombstone=tombstone)
        except InvalidMessage as exc:
            yield exc


def rebuild(spec: ConsumerSpec, *, source: str = "kafka") -> ReplayResult:
    """Empty a consumer's read model and re-apply the log to it, in one transaction.

    Readers see the old read model until the new one commits.  Events are applied
    in per-partition order, which is per-aggregate order.
    """
    handler = spec.make_handler()
    events = events_from_kafka(spec.kafka_topic_names) if source == "kafka" else events_from_outbox(spec.topic_names)
    result = ReplayResult()
    with transaction.atomic():
        handler.reset()
        ProcessedEvent.objects.filter(consumer=spec.name).delete()
        for item in events:
            if isinstance(item, BareTombstone):
                if handler.handles_bare_tombstones():
                    apply_bare_tombstone(spec.name, handler, item)
                    result.applied += 1
                else:
                    result.skipped += 1
                continue
            if isinstance(item, InvalidMessage):
                result.invalid += 1
                continue
            if handler.handles(item.event_type) and apply_event(spec.name, handler, item):
                result.applied += 1
            else:
                result.skipped += 1
    return result


def redrive(dead_letter: DeadLetter) -> tuple[bool, str]:
    """Re-apply one dead letter with its consumer's current code.

    Returns (succeeded, message).  Success marks it re-driven; a failure keeps it
    pending with the new error.  Idempotent: an event already applied is a no-op.
    """
    spec = get_consumer(dead_letter.consumer)
    handler = spec.make_handler()
    try:
        with transaction.atomic():
            value = bytes(dead_letter.value) if dead_letter.value is not None else None
            try:
                event: Envelope | None = decode(value, dead_letter.headers)  # a tombstone's envelope is in its headers
            except BareTombstone:
                event = None
                if handler.handles_bare_tombstones():
                    apply_bare_tombstone(spec.name, handler, BareTombstone(dead_letter.topic, dead_letter.key or None))
            if event is not None and handler.handles(event.event_type):
                apply_event(spec.name, handler, event)
            dead_letter.status = DeadLetter.Status.REDRIVEN
            dead_letter.resolved_at = timezone.now()
            dead_letter.save(update_fields=["status", "resolved_at"])
    except Exception as exc:
        dead_letter.error = f"{type(exc).__name__}: {exc}"
        dead_letter.attempts += 1
        dead_letter.save(update_fields=["error", "attempts"])
        return False, dead_letter.error
    return True, "re-driven"


def republish_outbox(*, since_hours: float | None = None) -> int:
    """Mark retained outbox rows unpublished so the relay sends them again.

    For an operator after a broker or cluster lost its data (its volumes), README "When the
    broker goes away".  Consumers absorb the events they already applied.
    """
    rows = OutboxEvent.objects.filter(published_at__isnull=False)
    if since_hours is not None:
        rows = rows.filter(created_at__gte=timezone.now() - timedelta(hours=since_hours))
    return rows.update(published_at=None)
