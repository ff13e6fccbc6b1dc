"""Admin for promo codes (managed here), quotes, acceptances, payments, webhooks and the finance page.

Everything but promo codes is read-only here: quote versions are append-only in the database,
acceptances are the frozen contract, and money moves only through ``quotes/payments.py``. The one
money action is the refund form on a payment (staff only), which calls
``quotes.payments.payment_refund`` with an idempotency key made once per form, so a double
submit refunds once. Card tokens are shown (they are the gateway's tokens); card numbers are
never stored, so there is nothing else to show.

The Finance page (``admin:quotes_finance``, also the "Finance ledger entries" changelist) reads
the ``finance`` consumer's read model, so it may lag the payments by a few seconds.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.errors import ServiceError

from . import selectors
from .models import (
    FinanceLedgerEntry,
    FinanceOpenPayment,
    GatewayWebhook,
    Payment,
    PaymentOperation,
    PromoCode,
    PromoRedemption,
    QuoteAcceptance,
    QuoteLine,
    QuoteOption,
    QuoteVersion,
)
from .payments import payment_refund

# --- promo codes ------------------------------------------------------------------------------


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "value", "usage", "valid_from", "valid_until", "trade", "is_active")
    list_filter = ("kind", "is_active", "trade")
    search_fields = ("code", "description")
    readonly_fields = ("uses", "created_at")
    list_select_related = ("trade",)
    date_hierarchy = "valid_from"

    @admin.display(description="Uses")
    def usage(self, obj: PromoCode) -> str:
        return f"{obj.uses} / {'∞' if obj.max_uses is None else obj.max_uses}"

    def save_model(self, request: HttpRequest, obj: PromoCode, form: ModelForm, change: bool) -> None:
        if not change:
            obj.save()
            return
        # Never write back the form's copy of `uses`: redemptions may have counted since the page was loaded.
        fields = [f.name for f in PromoCode._meta.concrete_fields if f.name not in {"id", "uses", "created_at"}]
        obj.save(update_fields=fields)


@admin.register(PromoRedemption)
class PromoRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("promo", "customer", "reference", "amount", "created_at")
    list_filter = ("promo",)
    search_fields = ("customer__username", "reference")
    list_select_related = ("promo", "customer")
    date_hierarchy = "created_at"


# --- quotes -----------------------------------------------------------------------------------


def _lines_table(option: QuoteOption) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} × £{}</td><td>{}£{}</td></tr>",
        (
            (
                line.position + 1,
                line.get_kind_display(),
                line.description,
                line.quantity,
                line.unit_price,
                "−" if line.kind == QuoteLine.Kind.DISCOUNT else "",
                line.amount,
            )
            for line in option.lines.all()
        ),
    )
    return format_html(
        '<table class="quote-lines"><thead><tr><th>#</th><th>Kind</th><th>Description</th><th>Qty × unit</th><th>Amount</th></tr>'
        "</thead><tbody>{}</tbody></table>",
        rows,
    )


class QuoteOptionInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = QuoteOption
    extra = 0
    fields = (("tier", "title", "position"), ("subtotal", "discounts_total", "net", "tax", "total"), ("deposit", "balance"), "lines")
    readonly_fields = ("tier", "title", "position", "subtotal", "discounts_total", "net", "tax", "total", "deposit", "balance", "lines")

    @admin.display(description="Lines")
    def lines(self, obj: QuoteOption) -> SafeString:
        return _lines_table(obj)


@admin.register(QuoteVersion)
class QuoteVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "bid", "job", "tradesperson", "number", "valid_until", "created_at", "accepted_at")
    list_filter = (("accepted_at", admin.EmptyFieldListFilter),)
    search_fields = ("=bid__job__id", "=bid__id", "bid__tradesperson__username", "notes")
    list_select_related = ("bid", "bid__tradesperson")
    date_hierarchy = "created_at"
    readonly_fields = ("bid", "number", "notes", "valid_until", "discount_kind", "discount_value", "created_at", "accepted_at")
    inlines = [QuoteOptionInline]

    @admin.display(description="Job", ordering="bid__job_id")
    def job(self, obj: QuoteVersion) -> int:
        return obj.bid.job_id

    @admin.display(description="Tradesperson")
    def tradesperson(self, obj: QuoteVersion) -> str:
        return str(obj.bid.tradesperson)


@admin.register(QuoteOption)
class QuoteOptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "version", "tier", "title", "net", "tax", "total", "deposit")
    list_filter = ("tier",)
    search_fields = ("=version__bid__job__id", "title")
    list_select_related = ("version",)
    readonly_fields = ("lines",)

    @admin.display(description="Lines")
    def lines(self, obj: QuoteOption) -> SafeString:
        return _lines_table(obj)


@admin.register(QuoteLine)
class QuoteLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "option", "position", "kind", "description", "quantity", "unit_price", "amount")
    list_filter = ("kind",)
    search_fields = ("=option__version__bid__job__id", "description")
    list_select_related = ("option", "option__version")


@admin.register(QuoteAcceptance)
class QuoteAcceptanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("job", "customer", "tradesperson", "option", "promo_code", "total", "deposit", "accepted_at")
    search_fields = ("=job__id", "customer__username", "tradesperson__username", "promo_code")
    list_select_related = ("job", "customer", "tradesperson", "option", "option__version")
    date_hierarchy = "accepted_at"


# --- payments ---------------------------------------------------------------------------------


class PaymentOperationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentOperation
    extra = 0
    fields = ("created_at", "kind", "amount", "status", "gateway_id", "charge_id", "card_token", "message", "reason", "requested_by")
    readonly_fields = fields
    ordering = ("created_at", "id")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "job", "customer", "tradesperson", "status", "total", "held", "captured", "refunded", "payout_due", "updated_at")
    list_filter = ("status", "gateway")
    search_fields = ("=job__id", "=id", "customer__username", "customer__email", "customer__display_name")
    list_select_related = ("job", "customer", "tradesperson", "acceptance")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Payment._meta.concrete_fields]
    inlines = [PaymentOperationInline]
    change_form_template = "admin/quotes/payment/change_form.html"

    @admin.display(description="Total", ordering="acceptance__total")
    def total(self, obj: Payment) -> Decimal:
        return obj.acceptance.total

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing only (the refund form is its own page); keeps the read-only form without a save button.
        return False

    def get_urls(self) -> list[URLPattern]:
        refund = path("<int:payment_id>/refund/", self.admin_site.admin_view(self.refund_view), name="quotes_payment_refund")
        return [refund, *super().get_urls()]

    def refund_view(self, request: HttpRequest, payment_id: int) -> HttpResponse:
        """A small form (amount, reason); the idempotency key is made once per render, so submitting twice refunds once."""
        if not request.user.is_staff or not self.has_view_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("acceptance", "job"), pk=payment_id)
        refundable = payment.captured - payment.refunded
        if request.method == "POST":
            form = RefundForm(request.POST)
            if form.is_valid():
                actor = request.user
                assert isinstance(actor, User)
                try:
                    payment = payment_refund(
                        payment=payment,
                        actor=actor,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        idempotency_key=f"admin:{form.cleaned_data['idempotency_key']}",
                    )
                except ServiceError as exc:
                    form.add_error("amount" if exc.code in ("bad_amount", "exceeds_refundable") else None, exc.message)
                else:
                    self.message_user(
                        request,
                        f"Refunded. £{payment.refunded:,.2f} of £{payment.captured:,.2f} is now refunded ({payment.get_status_display()}).",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:quotes_payment_change", args=[payment.pk]))
        else:
            form = RefundForm(initial={"amount": refundable, "idempotency_key": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund payment {payment.pk} (job {payment.job_id})",
            "opts": self.opts,
            "original": payment,
            "payment": payment,
            "refundable": refundable,
            "form": form,
        }
        return TemplateResponse(request, "admin/quotes/payment/refund.html", context)


class RefundForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=12, decimal_places=2, label="Amount (£)")
    reason = forms.CharField(max_length=200, help_text="Shown to the customer with the refund and kept on the operation.")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


@admin.register(PaymentOperation)
class PaymentOperationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "job", "payment", "kind", "amount", "status", "gateway_id", "created_at", "completed_at")
    list_filter = ("kind", "status")
    search_fields = ("=job__id", "=payment__id", "idempotency_key", "gateway_id")
    date_hierarchy = "created_at"


@admin.register(GatewayWebhook)
class GatewayWebhookAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("event_id", "gateway", "event_type", "created", "received_at", "outcome")
    list_filter = ("gateway", "event_type")
    search_fields = ("event_id", "event_type", "outcome")
    date_hierarchy = "received_at"
    fields = ("gateway", "event_id", "event_type", "created", "received_at", "outcome", "payload_pretty")
    readonly_fields = fields

    @admin.display(description="Payload (card-like numbers removed)")
    def payload_pretty(self, obj: GatewayWebhook) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))


# --- finance (read model of the `finance` consumer) -------------------------------------------


@admin.register(FinanceLedgerEntry)
class FinanceLedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Its changelist is the Finance page: totals, open payments and when the read model last changed."""

    list_display = ("payment_id", "job_id", "tradesperson_id", "captured", "refunded", "platform_revenue", "payout_paid", "updated_at")

    def get_urls(self) -> list[URLPattern]:
        finance = path("finance/", self.admin_site.admin_view(self.finance_view), name="quotes_finance")
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
        }
        return TemplateResponse(request, "admin/quotes/finance.html", context)


@admin.register(FinanceOpenPayment)
class FinanceOpenPaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("payment_link", "job_id", "status", "held", "balance_due", "payout_due", "updated_at")
    list_filter = ("status",)
    search_fields = ("=job_id", "=payment_id")

    @admin.display(description="Payment", ordering="payment_id")
    def payment_link(self, obj: FinanceOpenPayment) -> SafeString:
        return format_html('<a href="{}">{}</a>', reverse("admin:quotes_payment_change", args=[obj.payment_id]), obj.payment_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[FinanceOpenPayment]:
        return super().get_queryset(request).order_by("-updated_at")
