"""Telling people things. Called by Kafka handlers, inside their transaction.

In-app notifications are rows plus a live push to the recipient's ``user.<id>``
stream after commit.  Email and SMS channels join here (one service for all).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from .models import Notification


def notify(*, recipient_id: int, kind: str, title: str, body: str = "", url: str = "", object_key: str) -> Notification | None:
    """Create one notification per (recipient, kind, object) and push it live.

    Idempotent: a second call with the same key returns None and sends nothing.
    """
    dedupe_key = f"{recipient_id}:{kind}:{object_key}"[:200]
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"recipient_id": recipient_id, "kind": kind, "title": title[:200], "body": body, "url": url[:300]},
    )
    if not created:
        return None
    unread = Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True).count()
    push.send_plain_on_commit(
        user_stream(recipient_id),
        "notification.created",
        {"id": notification.pk, "kind": kind, "title": notification.title, "body": body, "url": url, "unread": unread},
    )
    return notification


def notification_mark_read(*, recipient_id: int, notification_ids: list[int] | None = None) -> int:
    """Mark some (or all) of a user's notifications read; returns how many changed."""
    with transaction.atomic():
        rows = Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True)
        if notification_ids is not None:
            rows = rows.filter(pk__in=notification_ids)
        return rows.update(read_at=timezone.now())
