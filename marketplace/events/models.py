"""Tables of the event backbone: outbox, per-aggregate sequences, consumer inbox, dead letters."""

from __future__ import annotations

import uuid

from django.db import models


class OutboxEvent(models.Model):
    """An event committed with the domain change that caused it, waiting to be published.

    Rows are written only by :func:`marketplace.events.outbox.emit` (or
    ``emit_tombstone``) inside the caller's transaction; the relay publishes them in
    ``id`` order and sets ``published_at``.  A ``tombstone`` row is published with a
    null value and its envelope in the ``envelope`` header (compacted topics only).
    Published rows are kept for ``OUTBOX['RETENTION_HOURS']`` so a lost broker can
    be refilled (``manage.py replay_events --republish``).
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=128)
    sequence = models.PositiveBigIntegerField()
    envelope = models.JSONField()
    # db_default too: processes still running the previous release insert without the column.
    tombstone = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The relay's hot query: unpublished rows in id order.
            models.Index(fields=["id"], name="outbox_unpublished_idx", condition=models.Q(published_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.key}#{self.sequence}"


class AggregateSequence(models.Model):
    """The last sequence number handed out per aggregate (job, payment, ...).

    Incremented with an upsert in the emitting transaction; the row lock it takes
    also serialises writers of one aggregate, so outbox ids follow sequence order.
    """

    aggregate_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=128)
    last_sequence = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["aggregate_type", "aggregate_id"], name="aggregate_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.aggregate_type}:{self.aggregate_id}@{self.last_sequence}"


class ProcessedEvent(models.Model):
    """The inbox: an event a consumer has applied, written in the same transaction as its effect."""

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event_id"], name="processed_event_unique")]

    def __str__(self) -> str:
        return f"{self.consumer}: {self.event_type} {self.event_id}"


class DeadLetter(models.Model):
    """A message a consumer could not process; kept for inspection and re-driving."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        REDRIVEN = "redriven", "Re-driven"
        DISCARDED = "discarded", "Discarded"

    consumer = models.CharField(max_length=100, db_index=True)
    topic = models.CharField(max_length=200)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.TextField(blank=True)
    value = models.BinaryField(null=True)
    headers = models.JSONField(default=dict)
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=100, blank=True)
    error = models.TextField()
    error_class = models.CharField(max_length=200)
    attempts = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "topic", "partition", "offset"], name="dead_letter_unique"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.consumer} {self.topic}[{self.partition}]@{self.offset}"
