"""The core's own personal data: the account, tokens and sessions, notifications and their deliveries,
any model with an email address that points at the user (django-allauth's addresses, for example), and the
copies of events in the outbox and the audit log.  Also the core's retention purges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import connection, models, transaction
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.accounts.services import api_tokens_revoke_all
from marketplace.audit.models import AuditLog
from marketplace.audit.services import audit_purge, audit_redact
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.notifications.models import InboundSms, Notification, NotificationPreferences

from .registry import Erasure, PersonalData, Purge, register, register_purge
from .scrub import like_patterns, scrub_json, scrub_rows


def _export_account(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "time_zone": user.time_zone,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
    }


def _export_notifications(user: User) -> dict[str, Any]:
    preferences = dict(NotificationPreferences.objects.filter(user=user).values().first() or {})
    notifications = Notification.objects.filter(recipient=user).order_by("created_at")
    return {
        "preferences": {k: v for k, v in preferences.items() if k not in ("id", "user_id")},
        "notifications": [
            {
                "title": n.title,
                "body": n.body,
                "created_at": n.created_at.isoformat(),
                "read_at": n.read_at.isoformat() if n.read_at else None,
                "sent_to": [{"channel": d.channel, "to": d.to, "status": d.status} for d in n.deliveries.all()],
            }
            for n in notifications.prefetch_related("deliveries")
        ],
    }


def _identifiers(user: User) -> list[str]:
    phone = NotificationPreferences.objects.filter(user=user).values_list("phone", flat=True).first() or ""
    full_name = f"{user.first_name} {user.last_name}".strip()
    # First or last names alone would match unrelated words in other people's records; the full name does not.
    return [user.username, user.email, user.display_name, full_name, phone]


def _erase_notifications(user: User, erasure: Erasure) -> None:
    # The bell and its email/SMS log (with the addresses used) go; the preferences stay, without the phone.
    Notification.objects.filter(recipient=user).delete()
    phone = NotificationPreferences.objects.filter(user=user).values_list("phone", flat=True).first()
    if phone:
        InboundSms.objects.filter(from_number=phone).delete()  # the texts they sent us, with our replies
    NotificationPreferences.objects.filter(user=user).update(phone="")
    # Other people's notifications that name them ("New message from Ada") keep their sense, not the name.
    scrub_rows(Notification.objects.all(), ["title", "body"], erasure)


def _erase_account(user: User, erasure: Erasure) -> None:
    api_tokens_revoke_all(user=user)  # the apps' tokens, and (after commit) the sockets they opened
    UserSession.objects.filter(user=user).delete()  # signed-in browsers, with their addresses and user agents
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
    # Staff actions on the account name it in the admin's history.
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)).update(
        object_repr=erasure.pseudonym
    )
    _delete_email_rows(user)
    user.username = erasure.pseudonym
    user.first_name = user.last_name = user.email = ""
    user.display_name = "Erased user"
    user.is_active = False
    user.set_unusable_password()
    user.save()


def _delete_email_rows(user: User) -> None:
    """Delete the user's rows of any model that holds an email address for them (e.g. allauth's EmailAddress)."""
    user_model = get_user_model()
    for model in user._meta.apps.get_models():
        if model is user_model or not any(isinstance(f, models.EmailField) for f in model._meta.get_fields()):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey) and field.related_model is user_model:
                model._default_manager.filter(**{field.name: user}).delete()


def scrub_event_logs(erasure: Erasure) -> int:
    """Scrub the outbox's and the audit log's copies of the person's names, contact details and words."""
    patterns = like_patterns(erasure)
    if not patterns:
        return 0
    changed = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM events_outboxevent WHERE envelope::text ILIKE ANY(%s)", [patterns])
        ids = [row[0] for row in cursor.fetchall()]
    for row in OutboxEvent.objects.filter(id__in=ids).only("id", "envelope"):
        envelope = scrub_json(row.envelope, erasure)
        if envelope != row.envelope:
            OutboxEvent.objects.filter(id=row.id).update(envelope=envelope)
            changed += 1
    return changed + audit_redact(patterns=patterns, scrub=lambda payload: scrub_json(payload, erasure))


register(PersonalData("account.user", export=_export_account, erase=_erase_account, identifiers=_identifiers))
register(PersonalData("notifications", export=_export_notifications, erase=_erase_notifications))


# --- retention ---


def _batched_delete(queryset: models.QuerySet[Any]) -> int:
    batch = settings.PRIVACY["PURGE_BATCH"]
    total = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
            if ids:
                queryset.model._default_manager.filter(pk__in=ids).delete()
        total += len(ids)
        if len(ids) < batch:
            return total


def purge_inbox() -> int:
    """Inbox records older than the retention: a redelivery can only come from an uncommitted offset, minutes old."""
    cutoff = timezone.now() - timedelta(days=settings.PRIVACY["INBOX_RETENTION_DAYS"])
    return _batched_delete(ProcessedEvent.objects.filter(processed_at__lt=cutoff))


def purge_notifications() -> int:
    """Notifications (with their email/SMS deliveries) and texts people sent us (with our replies) older than the retention."""
    cutoff = timezone.now() - timedelta(days=settings.PRIVACY["NOTIFICATION_RETENTION_DAYS"])
    texts = _batched_delete(InboundSms.objects.filter(received_at__lt=cutoff))
    return _batched_delete(Notification.objects.filter(created_at__lt=cutoff)) + texts


def purge_audit() -> int:
    """Audit rows that occurred before the retention (6 years by default)."""
    cutoff = timezone.now() - timedelta(days=settings.PRIVACY["AUDIT_RETENTION_DAYS"])
    if not AuditLog.objects.filter(occurred_at__lt=cutoff).exists():
        return 0
    return audit_purge(before=cutoff, batch=settings.PRIVACY["PURGE_BATCH"])


def purge_outbox() -> int:
    """Published outbox rows past ``OUTBOX['RETENTION_HOURS']`` (the relay purges them too, while it runs)."""
    cutoff = timezone.now() - timedelta(hours=settings.OUTBOX["RETENTION_HOURS"])
    return _batched_delete(OutboxEvent.objects.filter(published_at__isnull=False, published_at__lt=cutoff))


register_purge(Purge("events.inbox", purge_inbox))
register_purge(Purge("events.outbox", purge_outbox))
register_purge(Purge("notifications", purge_notifications))
register_purge(Purge("audit", purge_audit))
