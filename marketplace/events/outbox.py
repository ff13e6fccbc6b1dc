"""Writing events: the transactional outbox.

Services call :func:`emit` (or :func:`emit_many` for bulk operations) inside the
same ``transaction.atomic`` block that writes their domain rows.  Nothing here
talks to Kafka: the relay (``manage.py outbox_relay``) publishes committed rows.
So a request either commits its change *and* its events, or neither.

:func:`emit_tombstone` is :func:`emit` for the end of a key's life on a compacted
topic: the event is validated, sequenced and stored the same way, and the relay
publishes it as a Kafka tombstone (null value, the envelope in an ``envelope``
header), so compaction eventually drops the key while consumers still see a full
event (``event.tombstone`` is True).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic

from django.db import connection
from django.utils import timezone

from .context import current_causation_id, current_correlation_id
from .envelope import Envelope, normalise_data
from .models import AggregateSequence, OutboxEvent
from .schemas import EventType, P, validate_data
from .topics import topic_spec


class OutsideTransaction(RuntimeError):
    """emit() was called outside a transaction: the event could outlive a rolled-back change."""


@dataclass(frozen=True)
class PendingEvent(Generic[P]):
    # ``data`` is the TypedDict of the event type's newest version (mypy checks the pair).
    event_type: EventType[P]
    aggregate_id: str | int
    data: P
    actor_id: int | None = None
    # Publish as a Kafka tombstone (null value, envelope in headers); compacted topics only.
    tombstone: bool = False


def emit(event_type: EventType[P], *, aggregate_id: str | int, data: P, actor_id: int | None = None) -> Envelope:
    """Validate one event and add it to the outbox in the caller's transaction.

    Guarantees: the event gets the next sequence number of its aggregate; it is
    published only if the surrounding transaction commits; a payload that breaks
    the schema raises :class:`~marketplace.events.schemas.SchemaViolation` here.
    """
    return emit_many([PendingEvent(event_type, aggregate_id, data, actor_id)])[0]


def emit_tombstone(event_type: EventType[P], *, aggregate_id: str | int, data: P, actor_id: int | None = None) -> Envelope:
    """Like :func:`emit`, but the relay publishes the event as a tombstone for its key.

    The key (aggregate id) is deleted from the compacted topic once the compactor
    runs; consumers receive the event with ``tombstone=True``.  Raises ValueError if
    the event type's topic is not compacted (a tombstone there would mean nothing).
    """
    return emit_many([PendingEvent(event_type, aggregate_id, data, actor_id, tombstone=True)])[0]


def _check_tombstone(event_type: EventType[Any]) -> None:
    spec = topic_spec(event_type.topic)
    if not spec.compacted:
        raise ValueError(
            f"{event_type.name} cannot be emitted as a tombstone: its topic {spec.name} is not compacted "
            f"(cleanup.policy={spec.cleanup_policy!r})."
        )


def emit_many(events: Sequence[PendingEvent[Any]]) -> list[Envelope]:
    """Add several events in one round trip per aggregate plus one INSERT.

    Events of one aggregate keep the order they are given in.
    """
    if not connection.in_atomic_block:
        raise OutsideTransaction("emit() must run inside transaction.atomic() together with the domain change.")
    if not events:
        return []
    for pending in events:
        if pending.tombstone:
            _check_tombstone(pending.event_type)
    now = timezone.now()
    correlation_id = current_correlation_id()
    causation_id = current_causation_id()

    counts: dict[tuple[str, str], int] = defaultdict(int)
    for pending in events:
        counts[(pending.event_type.aggregate_type, str(pending.aggregate_id))] += 1
    # Sorted so two transactions touching the same aggregates lock them in one order.
    if len(counts) == 1:
        next_seq = {agg: _reserve_sequences(agg[0], agg[1], n) for agg, n in counts.items()}
    else:
        next_seq = _reserve_many(sorted(counts.items()))

    envelopes: list[Envelope] = []
    rows: list[OutboxEvent] = []
    for pending in events:
        et = pending.event_type
        agg = (et.aggregate_type, str(pending.aggregate_id))
        sequence = next_seq[agg]
        next_seq[agg] += 1
        data = normalise_data(pending.data)
        version = et.current_version
        validate_data(et.name, version, data)
        envelope = Envelope(
            event_id=uuid.uuid4(),
            event_type=et.name,
            schema_version=version,
            occurred_at=now,
            aggregate_type=et.aggregate_type,
            aggregate_id=agg[1],
            sequence=sequence,
            actor_id=pending.actor_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data,
            tombstone=pending.tombstone,
        )
        envelopes.append(envelope)
        rows.append(
            OutboxEvent(
                event_id=envelope.event_id,
                event_type=et.name,
                topic=str(et.topic),
                key=agg[1],
                sequence=sequence,
                envelope=envelope.to_dict(),
                tombstone=pending.tombstone,
            )
        )
    OutboxEvent.objects.bulk_create(rows)
    return envelopes


def _reserve_many(counts: list[tuple[tuple[str, str], int]]) -> dict[tuple[str, str], int]:
    """:func:`_reserve_sequences` for several aggregates (given sorted, distinct) in one statement."""
    table = AggregateSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (aggregate_type, aggregate_id, last_sequence)
            SELECT t, i, n FROM unnest(%s::text[], %s::text[], %s::bigint[]) WITH ORDINALITY AS v(t, i, n, position)
            ORDER BY position
            ON CONFLICT (aggregate_type, aggregate_id)
            DO UPDATE SET last_sequence = {table}.last_sequence + EXCLUDED.last_sequence
            RETURNING aggregate_type, aggregate_id, last_sequence
            """,
            [[agg[0] for agg, _ in counts], [agg[1] for agg, _ in counts], [n for _, n in counts]],
        )
        last = {(t, i): int(seq) for t, i, seq in cursor.fetchall()}
    return {agg: last[agg] - n + 1 for agg, n in counts}


def _reserve_sequences(aggregate_type: str, aggregate_id: str, count: int) -> int:
    """Reserve ``count`` consecutive sequence numbers; return the first."""
    table = AggregateSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (aggregate_type, aggregate_id, last_sequence) VALUES (%s, %s, %s)
            ON CONFLICT (aggregate_type, aggregate_id)
            DO UPDATE SET last_sequence = {table}.last_sequence + EXCLUDED.last_sequence
            RETURNING last_sequence
            """,
            [aggregate_type, aggregate_id, count],
        )
        (last,) = cursor.fetchone()
    return int(last) - count + 1
