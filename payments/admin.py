"""Admin for payments, their gateway operations, the gateway's webhooks, and payouts to tradespeople.

Read-only: money moves only through ``payments/services.py``. The one money action is the refund
form on a payment (staff only), which calls :func:`payments.services.payment_refund` with an
idempotency key made once per form, so a double submit refunds once. A failed payout can be retried
(an action on the payouts list: :func:`payments.payouts.payout_retry`, once per failed payout). Card tokens are shown (they
are the gateway's tokens); card numbers are never stored, so there is nothing else to show.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.errors import ServiceError
from marketplace.money import format_money
from payments.models import GatewayWebhook, Payment, PaymentOperation, Payout, PayoutItem
from payments.payouts import payout_retry
from payments.services import payment_refund


class PaymentOperationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentOperation
    extra = 0
    fields = (
        "created_at",
        "kind",
        "amount",
        "status",
        "gateway_id",
        "charge_id",
        "card_token",
        "message",
        "reason",
        "requested_by",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
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
    change_form_template = "admin/payments/payment/change_form.html"

    @admin.display(description="Total", ordering="acceptance__total")
    def total(self, obj: Payment) -> Decimal:
        return obj.acceptance.total

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing only (the refund form is its own page); keeps the read-only form without a save button.
        return False

    def get_urls(self) -> list[URLPattern]:
        refund = path("<int:payment_id>/refund/", self.admin_site.admin_view(self.refund_view), name="payments_payment_refund")
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
                        f"Refunded. {format_money(payment.refunded)} of {format_money(payment.captured)} is now refunded "
                        f"({payment.get_status_display()}).",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[payment.pk]))
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
        return TemplateResponse(request, "admin/payments/payment/refund.html", context)


class RefundForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=12, decimal_places=2, label="Amount (£)")
    reason = forms.CharField(max_length=200, help_text="Shown to the customer with the refund and kept on the operation.")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


@admin.register(PaymentOperation)
class PaymentOperationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "job", "payment", "kind", "amount", "status", "gateway_id", "attempts", "last_error", "created_at")
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


class PayoutItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The statement lines: gross - refunded - platform fee - previously paid = amount (negative: recovered)."""

    model = PayoutItem
    extra = 0
    fields = ("payment", "gross", "refunded", "platform_fee", "previously_paid", "amount")
    readonly_fields = fields


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "tradesperson", "amount", "status", "provider_reference", "failure_reason", "retry_of", "created_at", "paid_at")
    list_filter = ("status", "provider", "tradesperson")
    search_fields = ("=id", "tradesperson__username", "provider_reference", "idempotency_key")
    list_select_related = ("tradesperson", "retry_of")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Payout._meta.concrete_fields]
    inlines = [PayoutItemInline]
    actions = ["retry_failed"]

    @admin.action(description="Retry the selected failed payouts (everything the tradesperson is owed now)")
    def retry_failed(self, request: HttpRequest, queryset: Any) -> None:
        actor = request.user
        assert isinstance(actor, User)
        for payout in queryset:
            try:
                retry = payout_retry(payout=payout, actor=actor)
            except ServiceError as exc:
                self.message_user(request, f"Payout {payout.pk}: {exc.message}", messages.WARNING)
            else:
                self.message_user(
                    request,
                    f"Payout {payout.pk}: retried as payout {retry.pk} ({format_money(retry.amount)}).",
                    messages.SUCCESS,
                )
