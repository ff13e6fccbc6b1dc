"""The alerts app's periodic task (run by ``manage.py clock``): the time-based alert rules and the webhook retries."""

from __future__ import annotations

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .services import clock_pass


def _alerts_pass() -> Outcome:
    alerted, webhooks = clock_pass()
    return Outcome(alerted + webhooks, f"raised {alerted} staff alert(s), sent {webhooks} to the webhook")


register(PeriodicTask("alerts.due_and_webhooks", _alerts_pass))
