"""The audit log: every event on every topic, append-only.

:class:`AuditLog` is written by the ``audit`` consumer, one row per event id.  The database
refuses UPDATE and DELETE on it (trigger in migration 0002): whatever code runs, the record
of what happened cannot be edited.  (The per-job timeline read model lives in ``timeline/``.)
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AuditLog(models.Model):
    event_id = models.UUIDField(unique=True)
    topic = models.CharField(max_length=200, db_index=True)
    # Where the consumer read it (marketplace.events.context.message_position); null for a replay from the outbox.
    partition = models.IntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)
    key = models.CharField(max_length=200, blank=True, help_text="The Kafka message key (the aggregate id).")
    event_type = models.CharField(max_length=100, db_index=True)
    schema_version = models.PositiveSmallIntegerField()
    aggregate_type = models.CharField(max_length=50)
    aggregate_id = models.CharField(max_length=100)
    sequence = models.BigIntegerField()
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="The user who caused it (none: the system).")
    correlation_id = models.CharField(max_length=100, blank=True)
    causation_id = models.CharField(max_length=100, blank=True)
    tombstone = models.BooleanField(default=False, help_text="Published as a tombstone on a compacted topic.")
    occurred_at = models.DateTimeField(db_index=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(help_text="The whole envelope, as published.")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["aggregate_type", "aggregate_id", "sequence"], name="audit_aggregate_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id} #{self.sequence}"
