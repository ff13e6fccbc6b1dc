"""Raising, handling and delivering staff alerts: the only code that writes ``Alert`` and ``AlertDelivery``.

:func:`alert_raise` is idempotent per natural key (``dedupe_key``): the ``staff-alerts`` consumer
calls it inside the runner's transaction (with the inbox record), the clock in its own.  When a
webhook is configured and the alert is severe enough, the same transaction writes one
:class:`~.models.AlertDelivery`; it is sent after the commit (never from inside the transaction,
so a rolled-back batch sends nothing) and, if that fails, retried with exponential backoff by the
clock (:func:`deliveries_send_pending`).  A delivery is claimed (``pending`` -> ``sending``) by one
committed UPDATE before it is sent, so two senders never send it twice; only a sender that dies
between the receiver's 2xx and recording it can repeat a message (the claim's lease expires):
at-least-once in that one case, never zero.

:func:`alerts_check_due` is the clock's pass over the time-based rules (a job nobody bid on, a
tradesperson who has not arrived long after the appointment start).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from jobs.models import Bid, Job
from marketplace import deliveries
from marketplace.accounts.models import User
from marketplace.money import format_money
from marketplace.realtime import push
from scheduling.models import Appointment
from tracking.models import Stage, Visit

from . import enrichment, webhook
from .models import Alert, AlertDelivery
from .streams import STAFF_ALERTS_STREAM

log = logging.getLogger(__name__)

SEVERITY_ORDER = [Alert.Severity.INFO, Alert.Severity.WARNING, Alert.Severity.CRITICAL]


def conf() -> dict[str, Any]:
    config: dict[str, Any] = settings.STAFF_ALERTS
    return config


def _severe_enough(severity: str) -> bool:
    minimum = conf()["WEBHOOK_MIN_SEVERITY"]
    if minimum not in SEVERITY_ORDER:
        return True
    return SEVERITY_ORDER.index(Alert.Severity(severity)) >= SEVERITY_ORDER.index(minimum)


# The webhook hears of an alert once per channel: raised, and for an alert the system resolves (the
# backbone's), escalated to critical and resolved.  ``webhook.payload`` words each differently.
RAISED, ESCALATED, RESOLVED = "webhook", "webhook-escalated", "webhook-resolved"


def plan_webhook(alert: Alert, *, channel: str = RAISED) -> bool:
    """In the caller's transaction: plan one delivery of ``alert`` on ``channel``, sent after the commit.

    Nothing when no webhook is configured, the alert is below ``WEBHOOK_MIN_SEVERITY`` or that
    channel was planned already.  Returns whether a delivery was planned.
    """
    url = conf()["WEBHOOK_URL"]
    if not url or not _severe_enough(alert.severity):
        return False
    delivery, created = AlertDelivery.objects.get_or_create(alert=alert, channel=channel, defaults={"url": url})
    if created:
        delivery_id = delivery.pk
        transaction.on_commit(lambda: deliveries_send(delivery_ids=[delivery_id]))
    return created


def alert_raise(
    *,
    kind: str,
    severity: str,
    key: str,
    title: str,
    body: str = "",
    occurred_at: datetime,
    job_id: int | None = None,
    customer_id: int | None = None,
    tradesperson_id: int | None = None,
    event_id: uuid.UUID | None = None,
    context: dict[str, Any] | None = None,
) -> Alert | None:
    """Raise one alert per natural ``key``; returns it, or None if it had been raised already.

    Idempotent (redelivery, replay, two clocks).  Plans the webhook delivery in the same
    transaction and sends it after the commit.
    """
    with transaction.atomic():
        alert, created = Alert.objects.get_or_create(
            dedupe_key=f"{kind}:{key}"[:200],
            defaults={
                "kind": kind,
                "severity": severity,
                "title": title[:200],
                "body": body,
                "occurred_at": occurred_at,
                "job_id": job_id,
                "customer_id": customer_id,
                "tradesperson_id": tradesperson_id,
                "event_id": event_id,
                "context": context or {},
            },
        )
        if not created:
            return None
        plan_webhook(alert, channel=RAISED)
        push.send_plain_on_commit(
            STAFF_ALERTS_STREAM,
            "alert.raised",
            {
                "id": alert.pk,
                "kind": alert.kind,
                "kind_label": alert.get_kind_display(),
                "severity": alert.severity,
                "title": alert.title,
                "url": reverse("admin:alerts_alert_change", args=[alert.pk]),
            },
        )
    log.info("staff alert %s raised: %s", alert.dedupe_key, alert.title)
    return alert


# --- staff handling (admin actions) --------------------------------------------------------------


def alerts_acknowledge(*, alert_ids: Iterable[int], by: User) -> int:
    """Mark open alerts acknowledged (someone is on it); returns how many changed."""
    with transaction.atomic():
        return Alert.objects.filter(pk__in=list(alert_ids), status=Alert.Status.OPEN).update(
            status=Alert.Status.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=by
        )


def alerts_resolve(*, alert_ids: Iterable[int], by: User | None, resolution: str = "") -> int:
    """Resolve alerts that are not resolved yet; returns how many changed."""
    now = timezone.now()
    with transaction.atomic():
        rows = Alert.objects.filter(pk__in=list(alert_ids)).exclude(status=Alert.Status.RESOLVED)
        rows.filter(acknowledged_at__isnull=True).update(acknowledged_at=now, acknowledged_by=by)
        return rows.update(status=Alert.Status.RESOLVED, resolved_at=now, resolved_by=by, resolution=resolution[:200])


def alerts_resolve_for_job(*, kind: str, job_id: int, resolution: str) -> int:
    """The system resolves a job's unresolved alert of ``kind`` (e.g. a bid arrived after a no-bids alert)."""
    ids = list(Alert.objects.filter(kind=kind, job_id=job_id).exclude(status=Alert.Status.RESOLVED).values_list("pk", flat=True))
    return alerts_resolve(alert_ids=ids, by=None, resolution=resolution) if ids else 0


# --- the clock's time-based rules ---------------------------------------------------------------


def alerts_check_due(*, now: datetime | None = None) -> int:
    """Raise the time-based alerts that are due; returns how many were raised.  Idempotent.

    - ``no_bids``: an open job posted more than ``NO_BIDS_AFTER_MINUTES`` ago that nobody bid on.
    - ``running_late``: a booked appointment that started more than ``LATE_MINUTES`` ago whose
      tradesperson has not arrived (the event-driven side of the same rule is in the consumer).

    Jobs older than ``LOOKBACK_HOURS`` are left alone (a first deploy does not page about history).
    """
    now = now or timezone.now()
    lookback = now - timedelta(hours=conf()["LOOKBACK_HOURS"])
    raised = 0
    no_bids_before = now - timedelta(minutes=conf()["NO_BIDS_AFTER_MINUTES"])
    unbid = (
        Job.objects.filter(status=Job.Status.OPEN, created_at__lte=no_bids_before, created_at__gte=lookback)
        .filter(~Exists(Bid.objects.filter(job_id=OuterRef("pk"))))
        .filter(~Exists(Alert.objects.filter(kind=Alert.Kind.NO_BIDS, job_id=OuterRef("pk"))))
        .select_related("trade")
        .order_by("pk")[:200]
    )
    for job in unbid:
        minutes = int((now - job.created_at).total_seconds() // 60)
        alert = alert_raise(
            kind=Alert.Kind.NO_BIDS,
            severity=Alert.Severity.WARNING,
            key=f"job:{job.pk}",
            title=f"No bids after {minutes} min: “{job.title}”",
            body=(
                f"{job.trade.name} job in {job.place or 'an unnamed place'}, "
                f"budget {format_money(job.budget_min)}–{format_money(job.budget_max)}, still open."
            ),
            occurred_at=now,
            job_id=job.pk,
            customer_id=job.customer_id,
            context={"customer": enrichment.customer_context(job.customer_id), "job": enrichment.job_context(job.pk), "minutes": minutes},
        )
        raised += alert is not None
    late_start = now - timedelta(minutes=conf()["LATE_MINUTES"])
    arrived = Visit.objects.filter(job_id=OuterRef("job_id")).filter(
        Q(arrived_at__isnull=False) | ~Q(stage__in=[Stage.SCHEDULED, Stage.ON_THE_WAY])
    )
    overdue = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            starts_at__lte=late_start,
            starts_at__gte=lookback,
            job__status=Job.Status.SCHEDULED,
        )
        .filter(~Exists(arrived))
        .filter(~Exists(Alert.objects.filter(kind=Alert.Kind.RUNNING_LATE, job_id=OuterRef("job_id"))))
        .select_related("job", "worker")
        .order_by("pk")[:200]
    )
    for appointment in overdue:
        raised += raise_running_late(
            job=appointment.job,
            tradesperson_id=appointment.worker.owner_id,
            late_minutes=(now - appointment.starts_at).total_seconds() / 60,
            starts_at=appointment.starts_at,
            occurred_at=now,
            how="has not arrived",
        )
    return raised


def raise_running_late(
    *,
    job: Job,
    tradesperson_id: int | None,
    late_minutes: float,
    starts_at: datetime,
    occurred_at: datetime,
    how: str,
    event_id: uuid.UUID | None = None,
) -> bool:
    """One ``running_late`` alert per job, whichever signal (ETA drift, a late arrival, the clock) comes first."""
    if late_minutes <= conf()["LATE_MINUTES"]:
        return False
    tradesperson = enrichment.tradesperson_context(tradesperson_id)
    who = (tradesperson or {}).get("business_name") or (tradesperson or {}).get("name") or "The tradesperson"
    alert = alert_raise(
        kind=Alert.Kind.RUNNING_LATE,
        severity=Alert.Severity.WARNING,
        key=f"job:{job.pk}",
        title=f"{who} {how}, {round(late_minutes)} min after the start: “{job.title}”",
        body=f"The appointment started at {starts_at:%H:%M} UTC ({starts_at:%a %d %b}).",
        occurred_at=occurred_at,
        job_id=job.pk,
        customer_id=job.customer_id,
        tradesperson_id=tradesperson_id,
        event_id=event_id,
        context={
            "customer": enrichment.customer_context(job.customer_id),
            "tradesperson": tradesperson,
            "job": enrichment.job_context(job.pk),
            "late_minutes": round(late_minutes, 1),
            "appointment_starts_at": starts_at.isoformat(),
        },
    )
    return alert is not None


# --- webhook deliveries ------------------------------------------------------------------------


def deliveries_send(*, delivery_ids: Iterable[int]) -> int:
    """Send the given deliveries that are pending and due; returns how many were sent.

    Call it outside a transaction (after commit): each delivery is claimed by its own committed
    UPDATE, so a concurrent caller skips it.  A failure records the error and leaves it pending
    with a later ``next_attempt_at``; after ``WEBHOOK_MAX_ATTEMPTS`` it is failed (an admin action
    retries it).
    """
    c = conf()
    return deliveries.send_due(
        AlertDelivery,
        delivery_ids,
        send=lambda d: webhook.post(d.url, webhook.payload(d.alert, channel=d.channel), timeout=c["WEBHOOK_TIMEOUT_S"]),
        policy=deliveries.RetryPolicy(max_attempts=c["WEBHOOK_MAX_ATTEMPTS"], retry_base_s=c["WEBHOOK_RETRY_BASE_S"]),
        describe=lambda d: f"staff alert {d.alert_id}: webhook",
        related=("alert",),
    )


def deliveries_send_pending(*, limit: int = 200) -> int:
    """The clock's retry pass: send what is pending and due; returns how many were sent.

    First returns deliveries whose sender died mid-send (claim older than the lease) to pending.
    """
    return deliveries_send(delivery_ids=deliveries.due_ids(AlertDelivery, lease_s=conf()["WEBHOOK_CLAIM_LEASE_S"], limit=limit))


def deliveries_retry(*, delivery_ids: Iterable[int]) -> int:
    """Staff retry (admin action): failed or waiting deliveries become due now and are sent; returns how many were sent."""
    ids = list(delivery_ids)
    AlertDelivery.objects.filter(pk__in=ids, status__in=[AlertDelivery.Status.FAILED, AlertDelivery.Status.PENDING]).update(
        status=AlertDelivery.Status.PENDING, next_attempt_at=None
    )
    return deliveries_send(delivery_ids=ids)


def clock_pass() -> tuple[int, int]:
    """What the clock runs each tick: (alerts raised by the time-based rules, webhook deliveries sent)."""
    return alerts_check_due(), deliveries_send_pending()


def alerts_send_to_webhook(*, alert_ids: Iterable[int]) -> int:
    """Staff action: (re)send alerts to the configured webhook now, creating the delivery if there was none.

    Returns how many were sent.  Raises ValueError when no webhook URL is configured.
    """
    url = conf()["WEBHOOK_URL"]
    if not url:
        raise ValueError("No webhook is configured: set STAFF_ALERT_WEBHOOK_URL.")
    ids = []
    for alert_id in list(alert_ids):
        delivery, _ = AlertDelivery.objects.get_or_create(alert_id=alert_id, channel="webhook", defaults={"url": url})
        ids.append(delivery.pk)
    AlertDelivery.objects.filter(pk__in=ids).exclude(status=AlertDelivery.Status.SENDING).update(
        status=AlertDelivery.Status.PENDING, next_attempt_at=None, url=url
    )
    return deliveries_send(delivery_ids=ids)
