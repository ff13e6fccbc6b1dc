"""The staff webhook: a Slack-compatible JSON message per alert, POSTed to ``STAFF_ALERTS['WEBHOOK_URL']``.

The body is ``{"text": ..., "blocks": [...]}``: ``text`` is the whole message for any
incoming-webhook receiver (Slack, Mattermost, Teams' Slack-compatible connectors, a plain
HTTP endpoint); ``blocks`` lays it out in Slack.  Only the standard library is used.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.urls import reverse

from marketplace.money import format_money

from .models import Alert

SEVERITY_ICONS: dict[str, str] = {
    Alert.Severity.INFO: ":information_source:",
    Alert.Severity.WARNING: ":warning:",
    Alert.Severity.CRITICAL: ":rotating_light:",
}


class WebhookError(Exception):
    """The receiver did not accept the message (network error, timeout or a non-2xx answer)."""


def site_url(path: str) -> str:
    return settings.NOTIFICATIONS["SITE_URL"].rstrip("/") + path


def admin_url(alert: Alert) -> str:
    return site_url(reverse("admin:alerts_alert_change", args=[alert.pk]))


def payload(alert: Alert, *, channel: str = "webhook") -> dict[str, Any]:
    """The message for ``alert`` (pure); ``channel`` says which moment: raised, escalated or resolved."""
    icon = SEVERITY_ICONS.get(alert.severity, "")
    title = alert.title
    if channel == "webhook-escalated":
        title = f"Now critical: {title}"
    elif channel == "webhook-resolved":
        icon, title = ":white_check_mark:", f"Resolved: {title}"
    link = admin_url(alert)
    facts: list[str] = []
    customer = alert.context.get("customer")
    if customer:
        facts.append(f"Customer: {customer['name']} ({customer['jobs_posted']} job(s), account {customer['account_age_days']} day(s) old)")
    tradesperson = alert.context.get("tradesperson")
    if tradesperson:
        facts.append(
            f"Tradesperson: {tradesperson['name']}" + (f" ({tradesperson['business_name']})" if tradesperson["business_name"] else "")
        )
    if alert.context.get("amount"):
        facts.append(f"Amount: {format_money(alert.context['amount'])}")
    if channel == "webhook-resolved" and alert.resolution:
        facts.append(alert.resolution)
    text = f"{icon} [{alert.get_severity_display()}] {title}\n{alert.body}".strip()
    if facts:
        text += "\n" + "\n".join(facts)
    text += f"\n{link}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{title}*\n{alert.body}".strip()}},
    ]
    if facts:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": fact} for fact in facts]})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"{alert.get_kind_display()} · {alert.get_severity_display()} · <{link}|Open in admin>"}
            ],
        }
    )
    return {"text": text, "blocks": blocks}


def post(url: str, body: dict[str, Any], *, timeout: float) -> int:
    """POST ``body`` as JSON; return the HTTP status, or raise :class:`WebhookError`."""
    if not url.startswith(("http://", "https://")):
        raise WebhookError(f"webhook URL must start with http:// or https://, not {url[:40]!r}")
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting, http(s) only (checked above)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "marketplace-staff-alerts/1"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode(errors="replace")
        raise WebhookError(f"HTTP {exc.code} from the webhook: {detail}".strip()) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise WebhookError(f"could not reach the webhook: {exc}") from exc
