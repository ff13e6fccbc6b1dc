"""The scheduling app's periodic task (run by ``manage.py clock``): send the appointment reminders that are due."""

from __future__ import annotations

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .services import reminders_send


def _send_reminders() -> Outcome:
    sent = reminders_send()
    return Outcome(sent, f"sent {sent} appointment reminder(s)")


register(PeriodicTask("scheduling.reminders", _send_reminders))
