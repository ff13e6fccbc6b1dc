"""The quotes app's periodic tasks (run by ``manage.py clock``): retry invoice emails that failed or whose sender
died, and book the visits of service plans that are due (``quotes.agreements``)."""

from __future__ import annotations

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .agreements import agreements_book_due
from .invoicing import invoice_emails_send_pending


def _send_pending() -> Outcome:
    sent = invoice_emails_send_pending()
    return Outcome(sent, f"sent {sent} pending invoice email(s)")


def _book_plan_visits() -> Outcome:
    booked = agreements_book_due()
    return Outcome(booked, f"booked {booked} service plan visit(s)")


register(PeriodicTask("quotes.invoice_emails", _send_pending))
# Once a minute is plenty: visits are booked weeks ahead (SERVICE_PLANS["LEAD_DAYS"]).
register(PeriodicTask("quotes.service_plans", _book_plan_visits, every_s=60))
