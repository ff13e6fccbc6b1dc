"""``FinanceProjection`` (consumer ``finance``, topic ``marketplace.payments``, compacted): the finance
read model. ``payment.snapshot`` upserts the payment's ledger entry and its open position; the
``payment.settled`` tombstone deletes the open position and marks the ledger entry settled (it
stays, and a rebuild keeps it, so revenue and payouts survive compaction of settled keys:
tests/quotes/test_compaction.py). ``payout.*`` events (``marketplace.payouts``) keep one row per
payout (:class:`FinancePayout`), its status moving only forward by the payout's sequence.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from payments.events import PaymentSettledV1, PaymentSnapshotV1, PayoutFailedV1, PayoutStepV1

from .models import FinanceLedgerEntry, FinanceOpenPayment, FinancePayout


class FinanceProjection(EventHandler):
    def reset(self) -> None:
        """Empty what the payments topic can rebuild.

        Settled entries stay: compaction removes a settled payment's snapshots and, after
        ``delete.retention.ms``, its tombstone, so the topic no longer holds what they recorded.
        """
        FinanceOpenPayment.objects.all().delete()
        FinanceLedgerEntry.objects.filter(settled=False).delete()
        FinancePayout.objects.all().delete()  # the payouts topic keeps every event (retention -1)

    def _fresh(self, event: Envelope, payment_id: int) -> bool:
        """True if this event is newer than what the read model has for the payment (then it records the sequence)."""
        entry = FinanceLedgerEntry.objects.select_for_update().filter(payment_id=payment_id).first()
        return entry is None or event.sequence > entry.last_sequence

    def on_payment_snapshot(self, event: Envelope) -> None:
        d = event.payload(PaymentSnapshotV1)
        payment_id = int(d["payment_id"])
        if not self._fresh(event, payment_id):
            return
        now = timezone.now()
        FinanceLedgerEntry.objects.update_or_create(
            payment_id=payment_id,
            defaults={
                "job_id": d["job_id"],
                "tradesperson_id": d["tradesperson_id"],
                "captured": Decimal(d["captured"]),
                "refunded": Decimal(d["refunded"]),
                "platform_revenue": Decimal(d["platform_revenue"]),
                "payout_paid": Decimal(d["payout_paid"]),
                "last_sequence": event.sequence,
                "updated_at": now,
            },
        )
        completed_or_closed = d["status"] not in ("deposit_held", "awaiting_approval", "disputed", "completing")
        balance_due = Decimal("0.00") if completed_or_closed else Decimal(d["total"]) - Decimal(d["captured"]) - Decimal(d["held"])
        if d["status"] == "balance_failed":
            balance_due = Decimal(d["total"]) - Decimal(d["captured"])
        FinanceOpenPayment.objects.update_or_create(
            payment_id=payment_id,
            defaults={
                "job_id": d["job_id"],
                "customer_id": d["customer_id"],
                "tradesperson_id": d["tradesperson_id"],
                "status": d["status"],
                "held": Decimal(d["held"]),
                "balance_due": balance_due,
                "payout_due": Decimal(d["payout_due"]),
                "updated_at": now,
            },
        )

    def on_payment_settled(self, event: Envelope) -> None:
        payment_id = int(event.payload(PaymentSettledV1)["payment_id"])
        if not self._fresh(event, payment_id):
            return
        FinanceLedgerEntry.objects.filter(payment_id=payment_id).update(last_sequence=event.sequence, settled=True)
        FinanceOpenPayment.objects.filter(payment_id=payment_id).delete()

    def _payout(self, event: Envelope, **extra: str) -> None:
        d = event.payload(PayoutStepV1)
        row = FinancePayout.objects.select_for_update().filter(payout_id=d["payout_id"]).first()
        if row is not None and event.sequence <= row.last_sequence:
            return
        FinancePayout.objects.update_or_create(
            payout_id=d["payout_id"],
            defaults={
                "tradesperson_id": d["tradesperson_id"],
                "amount": Decimal(d["amount"]),
                "currency": d["currency"],
                "status": d["status"],
                "updated_at": event.occurred_at,
                "last_sequence": event.sequence,
                **extra,
            },
            create_defaults={
                "tradesperson_id": d["tradesperson_id"],
                "amount": Decimal(d["amount"]),
                "currency": d["currency"],
                "status": d["status"],
                "created_at": event.occurred_at,
                "updated_at": event.occurred_at,
                "last_sequence": event.sequence,
                **extra,
            },
        )

    def on_payout_created(self, event: Envelope) -> None:
        self._payout(event)

    def on_payout_in_transit(self, event: Envelope) -> None:
        self._payout(event)

    def on_payout_paid(self, event: Envelope) -> None:
        self._payout(event)

    def on_payout_failed(self, event: Envelope) -> None:
        self._payout(event, failure_reason=event.payload(PayoutFailedV1)["failure_reason"])
