"""Kafka handler of the audit app: :class:`AuditProjection` (consumer ``audit``, every declared
topic) writes one append-only :class:`~.models.AuditLog` row per event, whatever its type."""

from __future__ import annotations

from marketplace.events.context import message_position
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.events.schemas import get_event_type
from marketplace.events.topics import kafka_topic

from .models import AuditLog

# GPS positions are personal data kept only for a configured retention (tracking purges them);
# an append-only log would keep them forever, so the audit log records the visit's steps instead.
NOT_AUDITED = frozenset({"tracking.ping"})


class AuditProjection(EventHandler):
    """Records every event it is given (but GPS pings).  Append-only: no reset (the log is the record)."""

    def handles(self, event_type: str) -> bool:
        return event_type not in NOT_AUDITED

    def handle(self, event: Envelope) -> None:
        # Where the message came from, as the runner saw it; outside the runner (a replay from the
        # outbox) the topic comes from the event type's declaration and the position stays null.  Topics are
        # recorded as named on the broker (with KAFKA_TOPIC_PREFIX), so a position can be read back.
        # The key is the aggregate id (what the relay keys by).
        position = message_position(event.event_id)
        partition = offset = None
        if position is not None:
            topic, partition, offset = position
        else:
            try:
                topic = kafka_topic(get_event_type(event.event_type).topic)  # as the broker names it, like a position
            except LookupError:
                topic = ""
        row = AuditLog(
            event_id=event.event_id,
            topic=topic,
            partition=partition,
            offset=offset,
            key=event.aggregate_id[:200],
            event_type=event.event_type,
            schema_version=event.schema_version,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            sequence=event.sequence,
            actor_id=event.actor_id,
            correlation_id=event.correlation_id or "",
            causation_id=event.causation_id or "",
            tombstone=event.tombstone,
            occurred_at=event.occurred_at,
            payload=event.to_dict(),
        )
        # The inbox makes redelivery harmless; this also keeps a replay under a new group harmless.
        AuditLog.objects.bulk_create([row], ignore_conflicts=True)
