"""The Finance page (``admin:finance_finance``, also the "Finance ledger entries" changelist): it reads
the ``finance`` consumer's read model, so it may lag the payments by a few seconds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from finance.models import FinanceLedgerEntry, FinanceOpenPayment, FinancePayout
from marketplace.admin_mixins import ReadOnlyAdminMixin

from . import selectors


@admin.register(FinanceLedgerEntry)
class FinanceLedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Its changelist is the Finance page: totals, open payments and when the read model last changed."""

    list_display = ("payment_id", "job_id", "tradesperson_id", "captured", "refunded", "platform_revenue", "payout_paid", "updated_at")

    def get_urls(self) -> list[URLPattern]:
        finance = path("finance/", self.admin_site.admin_view(self.finance_view), name="finance_finance")
        return [finance, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.finance_view(request)

    def finance_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_staff or not self.has_view_permission(request):
            raise PermissionDenied
        open_payments = list(selectors.finance_open_payments()[:200])
        zero = Decimal("0.00")
        totals = {key: (zero if value is None else value) for key, value in selectors.finance_totals().items()}
        last_updated = max(
            (
                stamp
                for stamp in (
                    FinanceLedgerEntry.objects.aggregate(at=Max("updated_at"))["at"],
                    FinanceOpenPayment.objects.aggregate(at=Max("updated_at"))["at"],
                )
                if stamp is not None
            ),
            default=None,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Finance",
            "opts": self.opts,
            "totals": totals,
            "open_payments": open_payments,
            "last_updated": last_updated,
            "ledger": FinanceLedgerEntry.objects.order_by("-updated_at")[:50],
            "payout_balances": selectors.finance_payout_balances(),
        }
        return TemplateResponse(request, "admin/finance/finance.html", context)


@admin.register(FinanceOpenPayment)
class FinanceOpenPaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("payment_link", "job_id", "status", "held", "balance_due", "payout_due", "updated_at")
    list_filter = ("status",)
    search_fields = ("=job_id", "=payment_id")

    @admin.display(description="Payment", ordering="payment_id")
    def payment_link(self, obj: FinanceOpenPayment) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("admin:payments_payment_change", args=[obj.payment_id]), obj.payment_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[FinanceOpenPayment]:
        return super().get_queryset(request).order_by("-updated_at")


@admin.register(FinancePayout)
class FinancePayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Payouts as the finance read model has them (the write model, with retry, is Payments > Payouts)."""

    list_display = ("payout_link", "tradesperson_id", "amount", "status", "failure_reason", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("=tradesperson_id", "=payout_id")

    @admin.display(description="Payout", ordering="payout_id")
    def payout_link(self, obj: FinancePayout) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("admin:payments_payout_change", args=[obj.payout_id]), obj.payout_id)
