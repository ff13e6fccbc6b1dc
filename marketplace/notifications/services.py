"""Telling people things: the one notification service for every feature.

:func:`notify` is called by Kafka handlers inside their transaction.  It writes the
in-app notification (pushed live to ``user.<id>`` after commit) and one
:class:`~.models.Delivery` row per extra channel the recipient wants (email, SMS),
in the same transaction.  After the commit the delivery worker (``manage.py deliver``, woken
by the commit: :mod:`.outgoing`) sends them, never the request or the consumer batch that
planned them; a send that fails stays pending and ``manage.py send_pending_notifications``
(run by the clock) retries it with backoff.

Exactly once per channel: the notification is unique per (recipient, kind, object)
and a delivery per (notification, channel), both written with the consumer's inbox
record.  A redelivered event finds the notification already there and sends nothing;
a delivery is claimed (``pending`` -> ``sending``) by one atomic UPDATE before it is
sent, so two senders never send it twice.  Only a process that dies between the
provider accepting a message and recording it (the claim's lease then expires) can
repeat a send: at-least-once in that one case, never zero.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace import deliveries
from marketplace.accounts.models import User
from marketplace.events.outbox import emit
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import channels
from . import events as ev
from .inbound import InboundSms as ParsedSms
from .models import Category, Channel, Delivery, InboundSms, Notification, NotificationPreferences, SmsReply
from .outgoing import send_later
from .sms import get_sms_backend

log = logging.getLogger(__name__)


def category_of(kind: str) -> str:
    return Category.IMPORTANT if kind in settings.NOTIFICATIONS["IMPORTANT_KINDS"] else Category.UPDATES


def notify(
    *, recipient_id: int, kind: str, title: str, body: str = "", url: str = "", object_key: str, sms_extra: str = ""
) -> Notification | None:
    """Create one notification per (recipient, kind, object), push it live and plan its email/SMS.

    ``sms_extra`` is said in the text message only, after the body (e.g. "Reply C to confirm").

    Idempotent: a second call with the same key returns None and sends nothing.
    Emails and texts go out after the surrounding transaction commits, from the delivery worker (:mod:`.outgoing`).
    """
    dedupe_key = f"{recipient_id}:{kind}:{object_key}"[:200]
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "recipient_id": recipient_id,
            "kind": kind,
            "title": title[:200],
            "body": body,
            "url": url[:300],
            "sms_extra": sms_extra[:160],
        },
    )
    if not created:
        return None
    deliveries = _plan_deliveries(notification)
    unread = Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True).count()
    push.send_plain_on_commit(
        user_stream(recipient_id),
        "notification.created",
        {
            "id": notification.pk,
            "kind": kind,
            "title": notification.title,
            "body": body,
            "url": url,
            "unread": unread,
            "channels": [Channel.IN_APP.value, *(d.channel for d in deliveries)],
        },
    )
    if deliveries:
        ids = [d.pk for d in deliveries]
        send_later(lambda found: deliveries_send(delivery_ids=found), ids)
    return notification


def _plan_deliveries(notification: Notification) -> list[Delivery]:
    """The email/SMS rows the recipient's preferences ask for (nothing without an address)."""
    user = User.objects.filter(pk=notification.recipient_id).select_related("notification_preferences").first()  # one query
    if user is None:
        return []
    try:
        prefs = user.notification_preferences
    except NotificationPreferences.DoesNotExist:
        prefs = NotificationPreferences(user_id=user.pk)  # the defaults
    category = category_of(notification.kind)
    rows = []
    if user.email and prefs.wants(category, Channel.EMAIL):
        rows.append(Delivery(notification=notification, channel=Channel.EMAIL, to=user.email))
    if prefs.phone and prefs.wants(category, Channel.SMS):
        rows.append(Delivery(notification=notification, channel=Channel.SMS, to=prefs.phone))
    return Delivery.objects.bulk_create(rows) if rows else []


def _policy() -> deliveries.RetryPolicy:
    conf = settings.NOTIFICATIONS
    return deliveries.RetryPolicy(max_attempts=conf["MAX_ATTEMPTS"], retry_base_s=conf["RETRY_BASE_S"])


def deliveries_send(*, delivery_ids: Iterable[int]) -> int:
    """Send the given deliveries that are pending and due; returns how many were sent.

    Call it outside a transaction (after commit): each delivery is claimed by its own
    committed UPDATE, so a concurrent caller skips it.  A failure leaves it pending
    with a later ``next_attempt_at``; after ``NOTIFICATIONS['MAX_ATTEMPTS']`` it is failed.
    """
    return deliveries.send_due(
        Delivery,
        delivery_ids,
        send=channels.send,
        policy=_policy(),
        describe=lambda d: f"notification {d.notification_id}: {d.channel} delivery",
        related=("notification", "notification__recipient"),
    )


def deliveries_send_pending(*, limit: int = 500, now_due: bool = False) -> int:
    """Send what is pending and due (the clock's retry pass); returns how many were sent.

    First returns deliveries whose sender died mid-send (claim older than the lease) to pending.
    ``now_due`` ignores the backoff (``send_pending_notifications --now``).
    """
    if now_due:
        now = timezone.now()
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__gt=now).update(next_attempt_at=now)
    ids = deliveries.due_ids(Delivery, lease_s=settings.NOTIFICATIONS["CLAIM_LEASE_S"], limit=limit)
    return deliveries_send(delivery_ids=ids)


def deliveries_retry_failed(*, delivery_ids: Iterable[int]) -> int:
    """Give failed sends a fresh set of attempts (staff, after fixing an address or a provider outage).

    Only ``failed`` rows change; they go back to pending, due now, with their last error kept
    until the next attempt.  Returns how many were reset; the clock's next pass sends them.
    """
    return Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_at=None
    )


def notification_mark_read(*, recipient_id: int, notification_ids: list[int] | None = None) -> int:
    """Mark some (or all) of a user's notifications read; returns how many changed."""
    with transaction.atomic():
        rows = Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True)
        if notification_ids is not None:
            rows = rows.filter(pk__in=notification_ids)
        return rows.update(read_at=timezone.now())


def preferences_update(
    *,
    user: User,
    phone: str,
    important_email: bool,
    important_sms: bool,
    updates_email: bool,
    updates_sms: bool,
) -> NotificationPreferences:
    """Save a person's channels per category and mobile number (validated: E.164).

    Raises ``django.core.exceptions.ValidationError`` for a bad number.  Texts need a number:
    without one, SMS choices are kept but nothing is texted.
    """
    with transaction.atomic():
        prefs, _ = NotificationPreferences.objects.select_for_update().get_or_create(user=user)
        prefs.phone = "".join(phone.split())
        prefs.important_email = important_email
        prefs.important_sms = important_sms
        prefs.updates_email = updates_email
        prefs.updates_sms = updates_sms
        prefs.full_clean(exclude=["user"])
        prefs.save()
        return prefs


# --- texts people send us ---------------------------------------------------------------------


def inbound_sms_receive(*, provider: str, message: ParsedSms) -> InboundSms | None:
    """Store a verified inbound text once and emit ``sms.received`` in the same transaction.

    Idempotent on (provider, message id): a repeated delivery returns None and emits nothing.
    What the text means is decided by the ``sms.received`` handler (scheduling), not here.
    """
    try:
        with transaction.atomic():
            inbound = InboundSms.objects.create(
                provider=provider, message_id=message.message_id, from_number=message.from_number, body=message.body
            )
            sender = hashlib.sha256(message.from_number.encode()).hexdigest()[:32]
            data = ev.SmsReceivedV1(inbound_id=inbound.pk, provider=provider, received_at=inbound.received_at.astimezone(UTC).isoformat())
            emit(ev.SMS_RECEIVED, aggregate_id=sender, data=data)
    except IntegrityError:
        return None  # delivered before: stored and handled once
    return inbound


def sms_reply(*, inbound: InboundSms, text: str, outcome: str) -> SmsReply | None:
    """Record what ``inbound`` did (``outcome``, for staff) and answer it with ``text``, sent after commit.

    At most one reply per inbound text (a redelivered event answers nothing twice); returns None then.
    """
    InboundSms.objects.filter(pk=inbound.pk).update(outcome=outcome[:200])
    reply, created = SmsReply.objects.get_or_create(inbound=inbound, defaults={"to": inbound.from_number, "text": text[:320]})
    if not created:
        return None
    send_later(lambda found: sms_replies_send(reply_ids=found), [reply.pk])
    return reply


def _send_reply(reply: SmsReply) -> None:
    get_sms_backend().send(reply.to, reply.text)


def sms_replies_send(*, reply_ids: Iterable[int]) -> int:
    """Send the given pending, due replies (outside a transaction); a failure is retried with backoff."""
    return deliveries.send_due(
        SmsReply, reply_ids, send=_send_reply, policy=_policy(), describe=lambda r: f"SMS reply to inbound {r.inbound_id}"
    )


def deliveries_send_due() -> int:
    """Everything pending and due: notification emails and texts, then replies to texts (the delivery worker's pass).

    The pass's emails share one connection to the mail server (``channels.one_mail_connection``).
    """
    with channels.one_mail_connection():
        return deliveries_send_pending() + sms_replies_send_pending()


def sms_replies_send_pending(*, limit: int = 200) -> int:
    """The clock's retry pass for replies (like :func:`deliveries_send_pending`)."""
    ids = deliveries.due_ids(SmsReply, lease_s=settings.NOTIFICATIONS["CLAIM_LEASE_S"], limit=limit)
    return sms_replies_send(reply_ids=ids)
