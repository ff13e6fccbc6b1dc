"""Kafka handlers of the audit app.

- :class:`AuditProjection` (consumer ``audit``, every declared topic): one append-only
  :class:`~.models.AuditLog` row per event, whatever its type.
- :class:`TimelineProjection` (consumer ``timeline``, ``marketplace.jobs``): one
  :class:`~.models.JobTimelineEntry` per job event, with who may see it, pushed live as
  ``timeline.entry`` to the customer's ``job.<id>`` and to each tradesperson allowed to
  see it on ``user.<id>``, in that person's time zone.
"""

from __future__ import annotations

from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.events.schemas import get_event_type
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import timeline
from .models import AuditLog, JobTimelineEntry

# GPS positions are personal data kept only for a configured retention (tracking purges them);
# an append-only log would keep them forever, so the audit log records the visit's steps instead.
NOT_AUDITED = frozenset({"tracking.ping"})


class AuditProjection(EventHandler):
    """Records every event it is given (but GPS pings).  Append-only: no reset (the log is the record)."""

    def handles(self, event_type: str) -> bool:
        return event_type not in NOT_AUDITED

    def handle(self, event: Envelope) -> None:
        # The runner hands handlers the envelope only, so the topic comes from the event type's
        # declaration and the key is the aggregate id (what the relay keys by); partition and
        # offset stay null until the runner passes the message's position.
        try:
            topic = str(get_event_type(event.event_type).topic)
        except LookupError:
            topic = ""
        row = AuditLog(
            event_id=event.event_id,
            topic=topic,
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


class TimelineProjection(EventHandler):
    """Builds each job's timeline in event order (unique per (job, event)) and pushes new entries live."""

    def reset(self) -> None:
        JobTimelineEntry.objects.all().delete()

    def handles(self, event_type: str) -> bool:
        if event_type in timeline.NOT_ON_TIMELINE:
            return False
        try:
            return get_event_type(event_type).aggregate_type == "job"
        except LookupError:
            return False

    def handle(self, event: Envelope) -> None:
        entry = timeline.entry_for(event)
        if entry is None:
            return
        if JobTimelineEntry.objects.filter(job_id=entry.job_id, event_id=entry.event_id).exists():
            return  # already on the timeline (a replay under a new group)
        entry.save()
        self._push(event, entry)

    def _push(self, event: Envelope, entry: JobTimelineEntry) -> None:
        job = timeline.job_facts(entry.job_id)
        if job is None:
            return
        if timeline.visible_to_customer(entry):
            viewer = timeline.Viewer(user_id=job.customer_id, role="customer", zone=job.customer_zone, awarded=False)
            push.send_on_commit(f"job.{entry.job_id}", event, timeline.entry_json(entry, viewer), name="timeline.entry")
        for tradesperson_id, zone in timeline.tradespeople_who_see(entry, job):
            viewer = timeline.Viewer(user_id=tradesperson_id, role="tradesperson", zone=zone, awarded=job.awarded_to == tradesperson_id)
            push.send_on_commit(user_stream(tradesperson_id), event, timeline.entry_json(entry, viewer), name="timeline.entry")
