"""The quotes app's periodic task (run by ``manage.py clock``): retry invoice emails that failed or whose sender died."""

from __future__ import annotations

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .invoicing import invoice_emails_send_pending


def _send_pending() -> Outcome:
    sent = invoice_emails_send_pending()
    return Outcome(sent, f"sent {sent} pending invoice email(s)")


register(PeriodicTask("quotes.invoice_emails", _send_pending))
