"""Reading the finance read model."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from .models import FinanceLedgerEntry, FinanceOpenPayment, FinancePayout


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
    payouts = FinancePayout.objects.aggregate(
        on_the_way=Sum("amount", filter=Q(status__in=["pending", "in_transit"])), failed=Sum("amount", filter=Q(status="failed"))
    )
    return {
        "payouts_on_the_way": payouts["on_the_way"],
        "payouts_failed": payouts["failed"],
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


def finance_payout_balances() -> list[dict[str, object]]:
    """Per tradesperson: owed on open payments (negative: to recover), on its way in payouts, and paid out (staff only)."""
    rows: dict[int, dict[str, object]] = {}

    def row(tradesperson_id: int) -> dict[str, object]:
        return rows.setdefault(tradesperson_id, {"tradesperson_id": tradesperson_id, "owed": None, "on_the_way": None, "paid": None})

    for r in FinanceOpenPayment.objects.values("tradesperson_id").annotate(owed=Sum("payout_due")).exclude(owed=0):
        row(r["tradesperson_id"])["owed"] = r["owed"]
    payouts = FinancePayout.objects.values("tradesperson_id").annotate(
        on_the_way=Sum("amount", filter=Q(status__in=["pending", "in_transit"])), paid=Sum("amount", filter=Q(status="paid"))
    )
    for r in payouts:
        row(r["tradesperson_id"]).update(on_the_way=r["on_the_way"], paid=r["paid"])
    return [rows[k] for k in sorted(rows)]
