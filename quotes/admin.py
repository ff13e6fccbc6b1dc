"""Admin for promo codes (managed here), quotes and acceptances.

Everything but promo codes is read-only here: quote versions are append-only in the database and
acceptances are the frozen contract. Payments are in ``payments/admin.py``, the finance page in
``finance/admin.py``.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.money import format_money
from quotes import pricebook
from quotes.agreements import agreement_cancel
from quotes.models import (
    AgreementOccurrence,
    Invoice,
    InvoiceEmail,
    InvoiceSequence,
    PriceBookItem,
    PromoCode,
    PromoRedemption,
    QuoteAcceptance,
    QuoteLine,
    QuoteOption,
    QuoteTemplate,
    QuoteTemplateLine,
    QuoteVersion,
    ServiceAgreement,
    ServiceOffering,
)

# --- promo codes ------------------------------------------------------------------------------


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "value", "usage", "funder", "valid_from", "valid_until", "trade", "is_active")
    list_filter = ("kind", "is_active", "trade")
    search_fields = ("code", "description", "business__username")
    readonly_fields = ("uses", "created_at")
    raw_id_fields = ("business",)
    list_select_related = ("trade", "business")
    date_hierarchy = "valid_from"

    @admin.display(description="Paid by")
    def funder(self, obj: PromoCode) -> str:
        return f"{obj.business} (their business)" if obj.business_id is not None else "The platform"

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
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} × {}</td><td>{}{}</td></tr>",
        (
            (
                line.position + 1,
                line.get_kind_display(),
                line.description,
                line.quantity,
                format_money(line.unit_price),
                "−" if line.kind == QuoteLine.Kind.DISCOUNT else "",
                format_money(line.amount),
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


class InvoiceEmailInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceEmail
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Issued invoices: never edited (a correction is a refund, shown as a credit)."""

    list_display = ("number", "issued_at", "tax_point", "supplier_name", "customer_name", "net", "vat", "total", "job")
    list_filter = ("supplier_vat_registered", "tax_point")
    search_fields = ("number", "supplier_name", "customer_name", "job__title")
    raw_id_fields = ("job", "payment", "supplier", "customer")
    inlines = [InvoiceEmailInline]


@admin.register(InvoiceEmail)
class InvoiceEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("invoice", "to", "status", "attempts", "sent_at", "last_error")
    list_filter = ("status",)
    search_fields = ("invoice__number", "to")


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each business's last invoice number (changed only by issuing an invoice)."""

    list_display = ("supplier", "last_number")
    search_fields = ("supplier__username",)


@admin.register(ServiceOffering)
class ServiceOfferingAdmin(admin.ModelAdmin):
    """Fixed-price services tradespeople publish; staff may hide one (``active``) or correct its text."""

    list_display = ("title", "pro", "trade", "price", "duration_minutes", "active", "updated_at")
    list_filter = ("active", "trade")
    search_fields = ("title", "pro__username", "pro__pro_profile__business_name")
    raw_id_fields = ("pro",)


class AgreementOccurrenceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgreementOccurrence
    fields = ("due_date", "status", "job", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(ServiceAgreement)
class ServiceAgreementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Service plans (recurring work) and their visits; they change only through ``quotes.agreements``
    (events, notifications), so staff look here and cancel with the action."""

    list_display = ("title", "customer", "pro", "price", "interval_months", "next_due", "status")
    list_filter = ("status",)
    search_fields = ("title", "customer__username", "pro__username")
    inlines = [AgreementOccurrenceInline]
    actions = ["cancel_plans"]

    @admin.action(description="Cancel the selected service plans (both sides are told)")
    def cancel_plans(self, request: HttpRequest, queryset: QuerySet[ServiceAgreement]) -> None:
        assert isinstance(request.user, User)
        for plan in queryset:
            agreement_cancel(agreement=plan, actor=request.user)
        self.message_user(request, f"Cancelled {queryset.count()} service plan(s).")


@admin.register(AgreementOccurrence)
class AgreementOccurrenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each visit the clock booked (one per plan and due date)."""

    list_display = ("agreement", "due_date", "status", "job", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("agreement", "job")


# --- the price book (each business edits its own on /price-book/; staff may correct or archive) ---


@admin.register(PriceBookItem)
class PriceBookItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each business edits its own on /price-book/ (through ``quotes.pricebook``, which records every change as an event);
    staff look, and may archive one (the same service, so the audit log has it)."""

    actions = ["archive"]
    list_display = ("name", "business", "kind", "unit", "unit_price", "active", "updated_at")
    list_filter = ("active", "kind")
    search_fields = ("name", "description", "business__username")
    raw_id_fields = ("business",)
    list_select_related = ("business",)
    readonly_fields = ("created_at", "updated_at")

    @admin.action(description="Archive the selected items (no longer offered in the quote builder)")
    def archive(self, request: HttpRequest, queryset: QuerySet[PriceBookItem]) -> None:
        for item in queryset.filter(active=True).select_related("business"):
            pricebook.price_book_item_archive(item=item, actor=item.business)


class QuoteTemplateLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = QuoteTemplateLine
    extra = 0
    raw_id_fields = ("item",)
    ordering = ("position",)


@admin.register(QuoteTemplate)
class QuoteTemplateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """As price book items: edited by their business on /price-book/; staff look and may archive."""

    actions = ["archive"]
    list_display = ("name", "business", "trade", "active", "updated_at")
    list_filter = ("active", "trade")
    search_fields = ("name", "business__username")
    raw_id_fields = ("business",)
    list_select_related = ("business", "trade")
    readonly_fields = ("created_at", "updated_at")
    inlines = [QuoteTemplateLineInline]

    @admin.action(description="Archive the selected templates (no longer offered in the quote builder)")
    def archive(self, request: HttpRequest, queryset: QuerySet[QuoteTemplate]) -> None:
        for template in queryset.filter(active=True).select_related("business"):
            pricebook.quote_template_archive(template=template, actor=template.business)


@admin.register(QuoteTemplateLine)
class QuoteTemplateLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Template lines, for searching across businesses; they are edited inside their template."""

    list_display = ("template", "position", "kind", "description", "quantity", "unit_price")
    list_filter = ("kind",)
    search_fields = ("description", "template__name")
    list_select_related = ("template",)
