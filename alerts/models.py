"""Staff alerts: moments that need a human (the admin inbox), their webhook deliveries, and the rules' own read model.

``Alert`` rows are written only by ``alerts/services.py`` (called from the ``staff-alerts`` consumer
and the clock), one per natural key (``dedupe_key``), so a redelivered or replayed event never
raises a second alert.  Alerts are a work queue, not a read model: a rebuild keeps them (and their
acknowledgements); the natural keys make the replay add nothing.

``AlertDelivery`` is one send of an alert to the incoming webhook, written in the alert's
transaction and sent after the commit (retried with backoff by the clock).

``BackboneCondition`` is the clock's memory of each backbone figure it pages on (``alerts/backbone.py``):
its level, since when it has been at a raise level, and its open alert.

``CancellationMark`` is the consumer's read model for the cancellation-flood rule (one row per
cancelled job with its time); ``reset()`` empties it before a rebuild.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Alert(models.Model):
    class Kind(models.TextChoices):
        NO_BIDS = "no_bids", "Job with no bids"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        RUNNING_LATE = "running_late", "Tradesperson running late"
        FIRST_JOB = "first_job", "New customer's first job"
        CANCELLATION_FLOOD = "cancellation_flood", "Flood of cancellations"
        BACKBONE = "backbone", "Event backbone"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=30, choices=Kind.choices, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, db_index=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN, db_index=True)
    dedupe_key = models.CharField(max_length=200, unique=True, help_text="The natural key: one alert per moment, however often it is seen.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # Ids rather than foreign keys: an alert outlives what it is about and is written from events.
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    tradesperson_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    event_id = models.UUIDField(null=True, blank=True, help_text="The event that raised it (none: the clock).")
    context = models.JSONField(default=dict, blank=True, help_text="Account context at the time (customer, tradesperson, job, amounts).")
    occurred_at = models.DateTimeField(help_text="When the moment happened (the event's time).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="alert_inbox_idx")]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"


class AlertDelivery(models.Model):
    """One send of an alert to the staff webhook.  Exactly one per (alert, channel)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting to be sent (or retried after a failure)
        SENDING = "sending", "Sending"  # claimed by a sender; back to pending if it dies (lease)
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # gave up after STAFF_ALERTS['WEBHOOK_MAX_ATTEMPTS']; an admin action retries

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20, default="webhook")
    url = models.CharField(max_length=500, help_text="The webhook URL at the time the alert was raised.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "alert deliveries"
        constraints = [models.UniqueConstraint(fields=["alert", "channel"], name="alert_delivery_once_per_channel")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} for alert {self.alert_id}: {self.status}"


class CancellationMark(models.Model):
    """Read model of the ``staff-alerts`` consumer: when each job was cancelled (the flood rule counts these)."""

    job_id = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"job {self.job_id} cancelled at {self.occurred_at:%Y-%m-%d %H:%M}"


class BackboneCondition(models.Model):
    """One paged backbone figure (``outbox_age``, ``consumer_lag:<group>``, ...): the clock's state between ticks.

    ``level`` moves up once the figure has stayed at a raise level since ``breached_since`` for
    ``BACKBONE_PAGING['FOR_S']`` and down only below the lower clear level; ``alert`` is the one alert
    of the current episode (none while ``ok``).  Written only by ``alerts/backbone.py``.
    """

    class Level(models.TextChoices):
        OK = "ok", "OK"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    name = models.CharField(max_length=150, primary_key=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.OK)
    value = models.FloatField(default=0)
    breached_since = models.DateTimeField(null=True, blank=True, help_text="First check at a raise level above the current level.")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.level} ({self.value:g})"
