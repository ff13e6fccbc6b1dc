"""Rendering and sending one delivery over its channel (email or SMS).

Email: ``templates/emails/notification.txt`` and ``.html`` (extending ``emails/base.*``)
through Django's mail backend (``EMAIL_BACKEND``); inside :func:`one_mail_connection` (the delivery
worker's pass) every email goes over one connection to the mail server instead of a new SMTP session
(and TLS handshake) each.  SMS: one short text through the
backend in ``SMS_BACKEND`` (:mod:`.sms`).  Times are rendered in the recipient's zone.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Channel, Delivery, Notification
from .sms import get_sms_backend

SMS_MAX_CHARS = 320  # two concatenated segments


def absolute_url(path: str) -> str:
    if not path or not path.startswith("/") or path.startswith("//"):
        return ""
    return settings.NOTIFICATIONS["SITE_URL"].rstrip("/") + path


def _context(notification: Notification) -> dict[str, Any]:
    return {
        "notification": notification,
        "recipient": notification.recipient,
        "link": absolute_url(notification.url),
        "preferences_link": absolute_url(reverse("notification-settings")),
        "site_url": settings.NOTIFICATIONS["SITE_URL"],
    }


def render_email(notification: Notification) -> tuple[str, str, str]:
    """(subject, text body, HTML body) in the recipient's time zone."""
    zone = ZoneInfo(getattr(notification.recipient, "time_zone", "") or "UTC")
    with timezone.override(zone):
        context = _context(notification)
        text = render_to_string("emails/notification.txt", context)
        html = render_to_string("emails/notification.html", context)
    subject = " ".join(notification.title.split())[:150]
    return subject, text, html


def render_sms(notification: Notification) -> str:
    parts = [notification.title.strip(), notification.body.strip(), notification.sms_extra.strip(), absolute_url(notification.url)]
    text = " ".join(" ".join(p.split()) for p in parts if p)
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


_pass = threading.local()


@contextlib.contextmanager
def one_mail_connection() -> Iterator[None]:
    """Emails sent inside (by this thread) share one connection, opened by the first and closed at the end."""
    _pass.connection, _pass.opened = get_connection(fail_silently=False), False
    try:
        yield
    finally:
        connection, opened = _pass.connection, _pass.opened
        _pass.connection = None
        if opened:
            with contextlib.suppress(Exception):  # a mail server gone away has nothing left to close
                connection.close()


def _send_email(message: EmailMultiAlternatives) -> None:
    connection = getattr(_pass, "connection", None)
    if connection is None:
        message.send(fail_silently=False)
        return
    try:
        if not _pass.opened:
            connection.open()
            _pass.opened = True
        try:
            connection.send_messages([message])
        except smtplib.SMTPServerDisconnected:  # the server closed the shared session (idle, or a per-session limit)
            connection.close()
            connection.open()
            connection.send_messages([message])
    except Exception:
        # The session's state is unknown after a failure: the next email starts a fresh one.
        with contextlib.suppress(Exception):
            connection.close()
        _pass.opened = False
        raise


def send(delivery: Delivery) -> None:
    """Send it now; raises whatever the backend raises when the message was not accepted."""
    notification = delivery.notification
    if delivery.channel == Channel.EMAIL:
        subject, text, html = render_email(notification)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [delivery.to])
        message.attach_alternative(html, "text/html")
        message.extra_headers["X-Notification-Id"] = str(notification.pk)
        _send_email(message)
    elif delivery.channel == Channel.SMS:
        get_sms_backend().send(delivery.to, render_sms(notification))
    else:
        raise ValueError(f"Unknown channel {delivery.channel!r}")
