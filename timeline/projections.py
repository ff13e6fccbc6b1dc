"""Kafka handler of the timeline: :class:`TimelineProjection` (consumer ``timeline``,
``marketplace.jobs``) writes one :class:`~.models.JobTimelineEntry` per job event, with who may see
it, pushed live as ``timeline.entry`` to the customer's ``job.<id>`` and to each tradesperson allowed
to see it on ``user.<id>``, in that person's time zone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from jobs.models import Job
from marketplace.audit.models import AuditLog
from marketplace.events.envelope import Envelope, from_dict
from marketplace.events.handlers import EventHandler
from marketplace.events.schemas import get_event_type
from marketplace.privacy.events import USER_ERASED, UserErasedV1
from marketplace.privacy.registry import REMOVED
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import entries as timeline
from .models import JobTimelineEntry


class TimelineProjection(EventHandler):
    """Builds each job's timeline in event order (unique per (job, event)) and pushes new entries live."""

    def reset(self) -> None:
        JobTimelineEntry.objects.all().delete()

    def handles(self, event_type: str) -> bool:
        if event_type == USER_ERASED.name:
            return True
        if event_type in timeline.NOT_ON_TIMELINE:
            return False
        try:
            return get_event_type(event_type).aggregate_type == "job"
        except LookupError:
            return False

    def handle(self, event: Envelope) -> None:
        if event.event_type == USER_ERASED.name:
            self.on_user_erased(event)
            return
        self._apply([event])

    def on_user_erased(self, event: Envelope) -> None:
        """Rewrite the entries of an erased person's jobs (and those they caused) from the audit log's copies of
        their events, which the erasure scrubbed in its own transaction: the steps stay, their words and names go."""
        user_id = event.payload(UserErasedV1)["user_id"]
        job_ids = Job.objects.filter(Q(customer_id=user_id) | Q(tradesperson_id=user_id)).values_list("pk", flat=True)
        stale = {e.event_id: e for e in JobTimelineEntry.objects.filter(Q(job_id__in=list(job_ids)) | Q(actor_id=user_id))}
        scrubbed = [from_dict(p) for p in AuditLog.objects.filter(event_id__in=list(stale)).values_list("payload", flat=True)]
        for _, fresh, _ in timeline.entries_for(scrubbed):
            entry = stale.pop(fresh.event_id)
            entry.summary, entry.data = fresh.summary, fresh.data
            entry.save(update_fields=["summary", "data"])
        # An event the audit log does not hold (yet) keeps its step, not its words.
        for entry in stale.values():
            entry.summary, entry.data = REMOVED, {}
            entry.save(update_fields=["summary", "data"])

    def _apply(self, events: list[Envelope]) -> None:
        """Put ``events`` on their jobs' timelines in order and push each new entry: a few statements for the lot."""
        found = timeline.entries_for(events)
        if not found:
            return
        existing = set(
            JobTimelineEntry.objects.filter(event_id__in=[entry.event_id for _, entry, _ in found]).values_list("job_id", "event_id")
        )
        fresh: list[tuple[Envelope, JobTimelineEntry, timeline.JobFacts | None]] = []
        for event, entry, facts in found:
            if (entry.job_id, entry.event_id) not in existing:  # not already there (a replay under a new group)
                existing.add((entry.job_id, entry.event_id))
                fresh.append((event, entry, facts))
        JobTimelineEntry.objects.bulk_create([entry for _, entry, _ in fresh])  # sets each pk (Postgres)
        shown = [(event, entry, facts) for event, entry, facts in fresh if facts is not None]
        audiences = timeline.tradespeople_who_see([(entry, facts) for _, entry, facts in shown])
        pushes: list[tuple[str, Envelope, dict[str, Any]]] = []
        for (event, entry, facts), tradespeople in zip(shown, audiences, strict=True):
            if timeline.visible_to_customer(entry):
                viewer = timeline.Viewer(user_id=facts.customer_id, role="customer", zone=facts.customer_zone, awarded=False)
                pushes.append((f"job.{entry.job_id}", event, timeline.entry_json(entry, viewer)))
            for tradesperson_id, zone in tradespeople:
                awarded = facts.awarded_to == tradesperson_id
                viewer = timeline.Viewer(user_id=tradesperson_id, role="tradesperson", zone=zone, awarded=awarded)
                pushes.append((user_stream(tradesperson_id), event, timeline.entry_json(entry, viewer)))
        push.send_all_on_commit(pushes, name="timeline.entry")

    # The event types that come in runs (a matching round offers several leads at once; a busy hour
    # posts jobs back to back): the runner hands each run to ``_apply`` in one call.
    bulk_lead_offered = _apply
    bulk_job_posted = _apply
