from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Delivery, Notification, NotificationPreferences


def notifications_for(*, recipient_id: int) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=recipient_id)


def notifications_with_channels(*, recipient_id: int) -> QuerySet[Notification]:
    """Newest first, with their email/SMS deliveries (for the channel badges)."""
    return notifications_for(recipient_id=recipient_id).prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("channel"))
    )


def unread_count(*, recipient_id: int) -> int:
    return Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True).count()


def preferences_for(*, user_id: int) -> NotificationPreferences:
    """The saved preferences, or the defaults (unsaved) for someone who never changed them."""
    return NotificationPreferences.objects.filter(user_id=user_id).first() or NotificationPreferences(user_id=user_id)
