"""The audit log (every event on every topic, append-only) and the per-job timeline read model.

- :class:`AuditLog`: written by the ``audit`` consumer, one row per event id.  The database
  refuses UPDATE and DELETE on it (trigger in migration 0002): whatever code runs, the record
  of what happened cannot be edited.
- :class:`JobTimelineEntry`: written by the ``timeline`` consumer, one row per (job, event),
  with who may see it.  The sentence shown is rendered per viewer (their zone, "you") from
  ``data`` by :mod:`marketplace.audit.timeline`; ``summary`` is the neutral version.
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


class JobTimelineEntry(models.Model):
    class Visibility(models.TextChoices):
        BOTH = "both", "Both parties"
        CUSTOMER = "customer", "Customer only"
        TRADESPERSON = "tradesperson", "Tradesperson only"

    class ActorRole(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        TRADESPERSON = "tradesperson", "Tradesperson"
        SYSTEM = "system", "System"
        STAFF = "staff", "Staff"

    job_id = models.BigIntegerField()
    event_id = models.UUIDField()
    sequence = models.BigIntegerField(help_text="The event's position in the job's history.")
    event_type = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=20, choices=ActorRole.choices)
    visibility = models.CharField(max_length=20, choices=Visibility.choices)
    # The tradesperson this entry is about (their lead, bid or quote): the only tradesperson who sees it.
    tradesperson_id = models.BigIntegerField(null=True, blank=True)
    # A job-level fact every tradesperson offered the job may see (posted, edited, closed).
    bidders = models.BooleanField(default=False)
    summary = models.CharField(max_length=500)
    data = models.JSONField(default=dict)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job_id", "sequence", "id"]
        verbose_name_plural = "job timeline entries"
        constraints = [models.UniqueConstraint(fields=["job_id", "event_id"], name="timeline_once_per_event")]
        indexes = [models.Index(fields=["job_id", "sequence"], name="timeline_job_seq_idx")]

    def __str__(self) -> str:
        return f"job {self.job_id} #{self.sequence}: {self.summary}"
