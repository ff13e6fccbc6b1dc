"""Payouts to tradespeople: the only code that pays out what payments earned (services; reads are in ``selectors.py``).

What a tradesperson is owed accumulates on their payments (``Payment.payout_due``, set by
``payments/services.py`` when money is kept or given back): a settled payment's ``payout_due`` stays
owed until a payout that includes it is paid. A refund after a payout makes it negative; the next
payout recovers it (and a tradesperson's balance may be negative until then).

The lifecycle, each step in its own transaction with its event (``marketplace.payouts``, key = payout id)::

    payouts_run (clock)      one transaction per tradesperson: their owed payments are locked, grouped
                             into a Payout (pending, a fresh idempotency key) with one PayoutItem per
                             payment; payout.created. Only if the total reaches PAYOUTS["MINIMUM"].
    payout_submit            OUTSIDE any transaction: the provider is asked with the payout's key
                             (asking again after a crash pays once); then a second transaction records
                             its reference (and whatever status it already reports).
    payouts_poll (clock)     OUTSIDE any transaction: asks the provider about each payout on its way;
                             payout_record then moves it forward only (pending -> in_transit -> paid |
                             failed), so a late or repeated answer changes nothing: payout.in_transit,
                             payout.paid (each payment's payout_paid grows, payout_due shrinks, and its
                             snapshot goes out; a fully paid, settled payment gets its tombstone),
                             payout.failed (its items count as owed again).
    payout_retry (staff)     a failed payout's tradesperson gets a new payout of everything owed now
                             (whatever the minimum), sent on the clock's next poll.

A payout's items hold pending or in-transit money: what is owed and not yet in a payout is
``payout_due`` less the items of open payouts, per payment.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import PendingEvent, emit_many

from . import events as ev
from . import lifecycle
from .models import Payment, Payout, PayoutItem
from .payout_provider import PayoutProvider, PayoutProviderUnavailable, PayoutReport, PayoutRequestError
from .services import _save  # the one way a payment is saved with its snapshot (and tombstone)

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
S = Payout.Status
OPEN = (S.PENDING, S.IN_TRANSIT)
# How far along each status is: a payout only ever moves to a higher rank.
_RANK = {S.PENDING: 0, S.IN_TRANSIT: 1, S.PAID: 2, S.FAILED: 2}


@cache
def provider() -> PayoutProvider:
    """The configured adapter (``settings.PAYOUTS["PROVIDER"]``), one per process."""
    cls = import_string(settings.PAYOUTS["PROVIDER"])
    instance: PayoutProvider = cls()
    return instance


def payout_account(tradesperson_id: int) -> str:
    """The payout account we send a tradesperson's money to, as the provider knows it."""
    return f"acct_{tradesperson_id}"


def minimum() -> Decimal:
    return Decimal(str(settings.PAYOUTS["MINIMUM"]))


def owed_payments(tradesperson_id: int) -> Any:
    """The tradesperson's settled payments with something owed either way (a queryset; lock it to pay them)."""
    return Payment.objects.filter(tradesperson_id=tradesperson_id, status__in=lifecycle.SETTLED, held=0).exclude(payout_due=0)


def in_flight(payment_ids: list[int]) -> dict[int, Decimal]:
    """Per payment, what open (pending or in-transit) payouts hold for it."""
    rows = PayoutItem.objects.filter(payment_id__in=payment_ids, payout__status__in=OPEN).values("payment_id").annotate(total=Sum("amount"))
    return {row["payment_id"]: row["total"] for row in rows}


def _event(event_type: Any, payout: Payout, actor_id: int | None = None, **extra: Any) -> PendingEvent[Any]:
    data: dict[str, Any] = {
        "payout_id": payout.pk,
        "tradesperson_id": payout.tradesperson_id,
        "amount": str(payout.amount),
        "currency": payout.currency,
        "status": payout.status,
    }
    data.update(extra)
    return PendingEvent(event_type, payout.pk, data, actor_id)


# --- grouping what is owed --------------------------------------------------------------------


def payout_create_for(
    *, tradesperson_id: int, at_least: Decimal, retry_of: Payout | None = None, actor: User | None = None
) -> Payout | None:
    """Group everything the tradesperson is owed and not yet in a payout into one pending payout (emits ``payout.created``).

    Nothing if the total is below ``at_least`` (a negative balance is carried to the next run).
    Safe with two clocks: the owed payments are locked, and what open payouts hold is not owed.
    """
    with transaction.atomic():
        payments = list(owed_payments(tradesperson_id).select_for_update().order_by("pk"))
        flying = in_flight([p.pk for p in payments])
        lines = []
        for payment in payments:
            already = flying.get(payment.pk, ZERO)
            amount = payment.payout_due - already
            if amount != 0:
                lines.append((payment, amount, payment.payout_paid + already))
        total = sum((amount for _, amount, _ in lines), ZERO)
        if not lines or total <= 0 or total < at_least:
            return None
        payout = Payout.objects.create(
            tradesperson_id=tradesperson_id,
            amount=total,
            currency=str(settings.PRICING["CURRENCY"]),
            idempotency_key=f"payout:{uuid.uuid4()}",
            provider=provider().name,
            retry_of=retry_of,
            requested_by=actor,
        )
        PayoutItem.objects.bulk_create(
            PayoutItem(
                payout=payout,
                payment=payment,
                amount=amount,
                gross=payment.captured,
                refunded=payment.refunded,
                platform_fee=payment.platform_revenue,
                previously_paid=previous,
            )
            for payment, amount, previous in lines
        )
        emit_many(
            [
                _event(
                    ev.PAYOUT_CREATED,
                    payout,
                    actor.pk if actor else None,
                    payment_ids=[p.pk for p, _, _ in lines],
                    retry_of=retry_of.pk if retry_of else None,
                )
            ]
        )
        return payout


def payouts_run() -> int:
    """The payout run (the clock, every ``PAYOUTS["RUN_EVERY_S"]``): a payout per tradesperson owed the minimum or more; how many."""
    tradespeople = (
        Payment.objects.filter(status__in=lifecycle.SETTLED, held=0)
        .exclude(payout_due=0)
        .values_list("tradesperson_id", flat=True)
        .distinct()
    )
    created = 0
    for tradesperson_id in sorted(set(tradespeople)):
        if payout_create_for(tradesperson_id=tradesperson_id, at_least=minimum()) is not None:
            created += 1
    return created


# --- asking the provider ----------------------------------------------------------------------


def in_transaction() -> bool:
    """True inside a transaction of ours (a test's wrapping transaction does not count: Django marks it)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _outside_transaction(what: str) -> None:
    if in_transaction():
        raise RuntimeError(f"{what} calls the payout provider: call it outside any database transaction.")


def payout_submit(payout: Payout) -> bool:
    """Send a pending payout to the provider with its idempotency key (call outside a transaction).

    Idempotent: a payout already sent is not sent again, and a repeat after a crash reaches the
    provider with the same key. An outage leaves it pending for the next poll (False). A request
    the provider refuses for good fails the payout (its items are owed again).
    """
    _outside_transaction("payout_submit")
    if payout.provider_reference or payout.status != S.PENDING:
        return False
    try:
        report = provider().send(
            account=payout_account(payout.tradesperson_id),
            amount=payout.amount,
            currency=payout.currency,
            idempotency_key=payout.idempotency_key,
            reference=f"payout:{payout.pk}",
        )
    except PayoutProviderUnavailable:
        log.warning("payouts: provider unavailable for payout %s; the next poll asks again with the same key", payout.pk)
        return False
    except PayoutRequestError as exc:
        return payout_record(payout_id=payout.pk, report=PayoutReport("", "failed", f"refused: {exc}"[:200]))
    return payout_record(payout_id=payout.pk, report=report)


def payouts_submit() -> int:
    """Send every pending payout the provider has not accepted yet (after a run, a retry, or an outage). Returns how many were sent."""
    sent = 0
    for payout in Payout.objects.filter(status=S.PENDING, provider_reference="").order_by("pk"):
        if payout_submit(payout):
            sent += 1
    return sent


def payouts_poll() -> int:
    """Ask the provider about every payout on its way and record what changed (the clock). Returns how many changed."""
    _outside_transaction("payouts_poll")
    changed = 0
    for payout in Payout.objects.filter(status__in=OPEN).exclude(provider_reference="").order_by("pk"):
        try:
            report = provider().status(reference=payout.provider_reference)
        except PayoutProviderUnavailable:
            log.warning("payouts: provider unavailable; payout %s is asked about again on the next poll", payout.pk)
            continue
        if payout_record(payout_id=payout.pk, report=report):
            changed += 1
    return changed


# --- recording what the provider said -----------------------------------------------------------


def payout_record(*, payout_id: int, report: PayoutReport) -> bool:
    """Record the provider's answer about a payout, in one transaction; True if the payout moved.

    Forward only: an answer that is not further along than what is recorded changes nothing, so
    answers may come late, twice, or out of order. Skipping in_transit records it on the way
    (both events go out, in order). Emits ``payout.in_transit``, ``payout.paid`` or ``payout.failed``.
    """
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        moved = False
        if report.reference and not payout.provider_reference:
            payout.provider_reference = report.reference[:64]
            payout.submitted_at = timezone.now()
            moved = True
        wanted = S(report.status)
        if _RANK[wanted] <= _RANK[S(payout.status)] or not payout.open:
            if moved:
                payout.save()
            return moved
        now = timezone.now()
        pending: list[PendingEvent[Any]] = []
        if wanted in (S.IN_TRANSIT, S.PAID) and payout.status == S.PENDING:
            payout.status, payout.in_transit_at = S.IN_TRANSIT, now
            pending.append(_event(ev.PAYOUT_IN_TRANSIT, payout, provider_reference=payout.provider_reference))
        if wanted == S.PAID:
            payout.status, payout.paid_at = S.PAID, now
            _pay_items(payout)
            pending.append(_event(ev.PAYOUT_PAID, payout, provider_reference=payout.provider_reference))
        elif wanted == S.FAILED:
            payout.status, payout.failed_at = S.FAILED, now
            payout.failure_reason = (report.failure_reason or "failed")[:200]
            pending.append(_event(ev.PAYOUT_FAILED, payout, failure_reason=payout.failure_reason))
        payout.save()
        emit_many(pending)
        return True


def _pay_items(payout: Payout) -> None:
    """Move each item's amount from its payment's payout_due to payout_paid (snapshot, and tombstone once nothing is owed)."""
    amounts: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for item in payout.items.all():
        amounts[item.payment_id] += item.amount
    for payment in Payment.objects.select_for_update().select_related("acceptance").filter(pk__in=amounts).order_by("pk"):
        payment.payout_paid += amounts[payment.pk]
        payment.payout_due -= amounts[payment.pk]
        _save(payment, [])


# --- staff -------------------------------------------------------------------------------------


def payout_retry(*, payout: Payout, actor: User) -> Payout:
    """Staff: pay a failed payout's tradesperson again, everything they are owed now (the clock's next poll sends it).

    Once per failed payout (a second retry of the same payout is refused, so a double click pays once).
    """
    if not actor.is_staff:
        raise ServiceError("Only staff can retry a payout.", code="forbidden", kind=Refusal.FORBIDDEN)
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout.pk)
        if payout.status != S.FAILED:
            raise ServiceError("Only a failed payout can be retried.", code="payout_not_failed", kind=Refusal.CONFLICT)
        if Payout.objects.filter(retry_of=payout).exists():
            raise ServiceError("This payout was already retried.", code="payout_already_retried", kind=Refusal.CONFLICT)
        retry = payout_create_for(tradesperson_id=payout.tradesperson_id, at_least=Decimal("0.01"), retry_of=payout, actor=actor)
        if retry is None:
            raise ServiceError(
                "Nothing is owed to this tradesperson now (a refund may have used it up).", code="nothing_owed", kind=Refusal.CONFLICT
            )
        return retry
