"""The per-job timeline read model.

:class:`JobTimelineEntry` is written by the ``timeline`` consumer, one row per (job, event), with
who may see it.  The sentence shown is rendered per viewer (their zone, "you") from ``data`` by
:mod:`timeline.entries`; ``summary`` is the neutral version.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
        db_table = "audit_jobtimelineentry"  # made by the audit app before the timeline had its own
        constraints = [models.UniqueConstraint(fields=["job_id", "event_id"], name="timeline_once_per_event")]
        indexes = [models.Index(fields=["job_id", "sequence"], name="timeline_job_seq_idx")]

    def __str__(self) -> str:
        return f"job {self.job_id} #{self.sequence}: {self.summary}"
