"""The notification centre and its channels.

- :class:`Notification`: one row per thing a person was told (the in-app channel).
- :class:`Delivery`: one row per (notification, channel) for email and SMS, created in the
  transaction that notifies and sent after it commits; unique, so a channel sends at most once.
- :class:`NotificationPreferences`: which channels a person wants per category, and their phone.
- :class:`InboundSms` / :class:`SmsReply`: texts people send us (verified webhook) and our one answer to each.
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
    # Said only in the text message (e.g. "Reply C to confirm"): email and the bell have buttons instead.
    sms_extra = models.CharField(max_length=160, blank=True)
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


class InboundSms(models.Model):
    """A text someone sent us, as the SMS provider's signed webhook delivered it (verified before it is stored).

    Unique per (provider, message id): a provider delivering the same message twice stores it once and
    emits ``sms.received`` once.  What it meant is decided by whoever handles ``sms.received`` and
    written back in ``outcome`` (for staff; never shown to the sender).
    """

    provider = models.CharField(max_length=20)
    message_id = models.CharField(max_length=100, help_text="The provider's id of the message.")
    from_number = models.CharField(max_length=20, help_text="The sender's number, E.164.")
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=200, blank=True, help_text="What the reply did (confirmed, asked for another time, help sent).")

    class Meta:
        verbose_name = "inbound text message"
        verbose_name_plural = "inbound text messages"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "message_id"], name="inbound_sms_once_per_message")]

    def __str__(self) -> str:
        return f"SMS {self.message_id} from {self.from_number}"


class SmsReply(models.Model):
    """Our one answer to an inbound text, sent after the transaction that decided it commits (like a Delivery)."""

    Status = Delivery.Status

    inbound = models.OneToOneField(InboundSms, on_delete=models.CASCADE, related_name="reply")
    to = models.CharField(max_length=20)
    text = models.CharField(max_length=320)
    status = models.CharField(max_length=10, choices=Delivery.Status.choices, default=Delivery.Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "text reply"
        verbose_name_plural = "text replies"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sms_reply_due_idx")]

    def __str__(self) -> str:
        return f"reply to {self.to}: {self.status}"
