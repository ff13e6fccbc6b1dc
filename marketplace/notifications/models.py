"""The notification centre and its channels.

- :class:`Notification`: one row per thing a person was told (the in-app channel).
- :class:`Delivery`: one row per (notification, channel) for email and SMS, created in the
  transaction that notifies and sent after it commits; unique, so a channel sends at most once.
- :class:`NotificationPreferences`: which channels a person wants per category, and their phone.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    # One notification per (recipient, kind, object): a redelivered event never notifies twice.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.recipient_id}: {self.title}"


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class Category(models.TextChoices):
    IMPORTANT = "important", "Important (reminders, failed payments, changes to your appointment)"
    UPDATES = "updates", "Everything else (bids, quotes, leads, payments received)"


class Delivery(models.Model):
    """One send of a notification over email or SMS.  Exactly one per (notification, channel)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting to be sent (or retried after a failure)
        SENDING = "sending", "Sending"  # claimed by a sender; back to pending if it dies (lease)
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # gave up after NOTIFICATIONS['MAX_ATTEMPTS']

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=[c for c in Channel.choices if c[0] != Channel.IN_APP])
    to = models.CharField(max_length=254, help_text="The address or number at the time of notifying.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} for notification {self.notification_id}: {self.status}"


phone_validator = RegexValidator(
    r"^\+[1-9][0-9]{7,14}$", "Enter a mobile number in international format, e.g. +447700900123 (digits only after the +)."
)


class NotificationPreferences(models.Model):
    """A person's channels per category (in-app is always on: it is the record) and their mobile number."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    phone = models.CharField(max_length=16, blank=True, validators=[phone_validator])
    important_email = models.BooleanField(default=True)
    important_sms = models.BooleanField(default=True)
    updates_email = models.BooleanField(default=True)
    updates_sms = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification preferences"

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"

    def wants(self, category: str, channel: str) -> bool:
        if channel == Channel.IN_APP:
            return True
        return bool(getattr(self, f"{category}_{channel}"))
