"""The alerts app's periodic tasks (run by ``manage.py clock``): the time-based alert rules, backbone paging, webhook retries."""

from __future__ import annotations

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .backbone import backbone_check
from .services import clock_pass


def _alerts_pass() -> Outcome:
    alerted, webhooks = clock_pass()
    return Outcome(alerted + webhooks, f"raised {alerted} staff alert(s), sent {webhooks} to the webhook")


def _backbone_pass() -> Outcome:
    c = backbone_check()
    return Outcome(
        sum(c.values()),
        f"backbone paging: raised {c['raised']}, escalated {c['escalated']}, resolved {c['resolved']} alert(s)",
    )


register(PeriodicTask("alerts.backbone_paging", _backbone_pass))
register(PeriodicTask("alerts.due_and_webhooks", _alerts_pass))
