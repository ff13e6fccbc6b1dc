"""Sending rows that work as a small outbox of their own: email/SMS deliveries, staff-alert webhooks.

A row (``status``, ``attempts``, ``last_error``, ``next_attempt_at``, ``claimed_at``, ``sent_at``) is
claimed by a committed UPDATE pending -> sending (attempts + 1; one for a whole pass, skipping rows
another sender is claiming), so two senders never send it twice; a success marks it sent; a failure
puts it back to pending with exponential backoff, or failed after ``max_attempts``; a claim older
than the lease (its sender died) goes back to pending.
Call these outside a transaction (after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Model, Q
from django.utils import timezone

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    retry_base_s: float  # the wait after the first failure, doubled after each next one


def _due(now: Any) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def send_due(
    model: type[Model],
    ids: Iterable[int],
    *,
    send: Callable[[Any], object],
    policy: RetryPolicy,
    describe: Callable[[Any], str],
    related: tuple[str, ...] = (),
) -> int:
    """Claim and send each of ``ids`` that is pending and due; returns how many were sent.

    The claim is one committed UPDATE for them all (rows another sender is claiming at that moment are
    skipped, ``SKIP LOCKED``), then one read; each row is marked as its send ends.
    """
    rows = model._default_manager
    now = timezone.now()
    wanted = list(ids)
    if not wanted:
        return 0
    with transaction.atomic():
        # Sent already, not due, or someone else is sending it: not claimed.
        claimable = rows.select_for_update(skip_locked=True).filter(_due(now), pk__in=wanted, status=PENDING)
        claimed = list(claimable.values_list("pk", flat=True))
        if claimed:
            rows.filter(pk__in=claimed).update(status=SENDING, claimed_at=now, attempts=F("attempts") + 1)
    sent = 0
    if not claimed:
        return 0
    row: Any
    for row in rows.select_related(*related).filter(pk__in=claimed).order_by("pk"):
        try:
            send(row)
        except Exception as exc:  # any provider failure (network, 5xx, a refusal): keep it for a retry
            _failed(model, row, exc, policy, describe(row))
            continue
        rows.filter(pk=row.pk, status=SENDING).update(status=SENT, sent_at=timezone.now(), last_error="")
        sent += 1
    return sent


def _failed(model: type[Model], row: Any, exc: Exception, policy: RetryPolicy, what: str) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if row.attempts >= policy.max_attempts:
        log.error("%s failed for good after %d attempts: %s", what, row.attempts, error)
        status, next_at = FAILED, None
    else:
        log.warning("%s failed (attempt %d), will retry: %s", what, row.attempts, error)
        status, next_at = PENDING, timezone.now() + timedelta(seconds=policy.retry_base_s * 2 ** (row.attempts - 1))
    model._default_manager.filter(pk=row.pk, status=SENDING).update(status=status, next_attempt_at=next_at, last_error=error)


def due_ids(model: type[Model], *, lease_s: float, limit: int) -> list[int]:
    """Return rows whose sender died (claim older than the lease) to pending; then the ids pending and due."""
    rows = model._default_manager
    now = timezone.now()
    rows.filter(status=SENDING, claimed_at__lt=now - timedelta(seconds=lease_s)).update(status=PENDING)
    return list(rows.filter(_due(now), status=PENDING).order_by("pk").values_list("pk", flat=True)[:limit])
