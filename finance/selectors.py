"""Reading the finance read model."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from .models import FinanceLedgerEntry, FinanceOpenPayment


def finance_open_payments() -> QuerySet[FinanceOpenPayment]:
    return FinanceOpenPayment.objects.order_by("-updated_at")


def finance_totals() -> dict[str, object]:
    """Platform-wide figures from the finance read model (staff only; the caller checks)."""
    ledger = FinanceLedgerEntry.objects.aggregate(
        captured=Sum("captured"),
        refunded=Sum("refunded"),
        platform_revenue=Sum("platform_revenue"),
        payouts=Sum("payout_paid"),
        n=Count("pk"),
    )
    open_ = FinanceOpenPayment.objects.aggregate(
        outstanding_deposits=Sum("held"), balances_due=Sum("balance_due"), payouts_due=Sum("payout_due"), n=Count("pk")
    )
    return {
        "captured": ledger["captured"],
        "refunded": ledger["refunded"],
        "platform_revenue": ledger["platform_revenue"],
        "payouts_paid": ledger["payouts"],
        "payments": ledger["n"],
        "outstanding_deposits": open_["outstanding_deposits"],
        "balances_due": open_["balances_due"],
        "payouts_due": open_["payouts_due"],
        "open_payments": open_["n"],
    }
