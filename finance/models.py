"""The finance read model, maintained by the ``finance`` consumer from ``marketplace.payments``."""

from __future__ import annotations

from django.db import models

from marketplace.money import money_field


class FinanceLedgerEntry(models.Model):
    """Per payment, what it finally contributed (kept through tombstones, so totals survive settlement)."""

    payment_id = models.BigIntegerField(primary_key=True)
    job_id = models.BigIntegerField(db_index=True)
    tradesperson_id = models.BigIntegerField(db_index=True)
    captured = money_field()
    refunded = money_field()
    platform_revenue = money_field()
    payout_paid = money_field()
    last_sequence = models.PositiveBigIntegerField(help_text="The payment's last applied event sequence (stale events are ignored).")
    # Set by the payment.settled tombstone.  A settled payment's records leave the compacted topic once the
    # tombstone's retention passes, so a rebuild cannot bring its entry back: the rebuild keeps settled entries.
    settled = models.BooleanField(default=False, help_text="Final: its records may be compacted away, so a rebuild keeps it.")
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "quotes_financeledgerentry"  # made by the quotes app before finance had its own
        verbose_name = "finance ledger entry"
        verbose_name_plural = "finance"  # the changelist is the Finance page (finance/admin.py)

    def __str__(self) -> str:
        return f"Payment {self.payment_id} ledger"


class FinanceOpenPayment(models.Model):
    """A payment that is not settled yet (deleted when its tombstone arrives)."""

    payment_id = models.BigIntegerField(primary_key=True)
    job_id = models.BigIntegerField(db_index=True)
    customer_id = models.BigIntegerField()
    tradesperson_id = models.BigIntegerField()
    status = models.CharField(max_length=20)
    held = money_field(help_text="Outstanding deposit (authorised, not captured).")
    balance_due = money_field()
    payout_due = money_field()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "quotes_financeopenpayment"  # made by the quotes app before finance had its own

    def __str__(self) -> str:
        return f"Open payment {self.payment_id}"


class FinancePayout(models.Model):
    """A payout to a tradesperson as the ``payout.*`` events tell it (``marketplace.payouts``)."""

    payout_id = models.BigIntegerField(primary_key=True)
    tradesperson_id = models.BigIntegerField(db_index=True)
    amount = money_field()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, db_index=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(help_text="When the payout was created (the event's time).")
    updated_at = models.DateTimeField(help_text="When it last moved (the event's time).")
    last_sequence = models.PositiveBigIntegerField(help_text="The payout's last applied event sequence (stale events are ignored).")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "payout"

    def __str__(self) -> str:
        return f"Payout {self.payout_id} ({self.status})"
