"""The notifications' periodic task (run by ``manage.py clock``): send pending and due email/SMS (retries with backoff)."""

from __future__ import annotations

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .services import deliveries_send_pending, sms_replies_send_pending


def _send_pending() -> Outcome:
    sent = deliveries_send_pending()
    replies = sms_replies_send_pending()
    return Outcome(sent + replies, f"sent {sent} pending email/SMS notification(s) and {replies} SMS repl(ies)")


register(PeriodicTask("notifications.send_pending", _send_pending))
