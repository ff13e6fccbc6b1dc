"""API input and output shapes for quotes, acceptance, payments and finance.

Quote input is parsed in two steps: the serializers below check the structure (lists, tiers,
text lengths, dates), then :func:`quote_input` turns the numbers into ``Decimal`` and the lines
into pricing inputs. Numbers are decimal strings ("12.50") or integers; a float is refused
(it cannot hold pence exactly), and every other numeric rule is the pricing engine's, so a
refusal carries the engine's code and the offending field as a path such as
``options[0].lines[3].unit_price``. Totals and amounts a client sends for lines are not
fields here, so they are ignored: every figure comes from the server's one pricing engine.

Who sees what: the customer is never shown the platform fee or the tradesperson's payout
(they are ``null``); card tokens and gateway ids are shown to staff only.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs.models import Trade
from jobs.serializers import BidOutputSerializer, fill_from_place, latitude_field, longitude_field
from jobs.services import MAX_AMOUNT
from marketplace.accounts.models import User
from marketplace.api import money_field, money_out
from marketplace.cards import luhn_like_numbers
from marketplace.errors import Refusal, ServiceError
from payments.models import Payment, PaymentOperation
from quotes.models import (
    Invoice,
    PriceBookItem,
    QuoteAcceptance,
    QuoteLine,
    QuoteOption,
    QuoteTemplate,
    QuoteTemplateLine,
    QuoteVersion,
    ServiceAgreement,
    ServiceOffering,
)
from quotes.pricing import Breakdown, Discount, LineItem, PricingError

from .offerings import offering_deposit
from .selectors import offering_slots
from .services import OptionInput, QuoteInput, pricing_error, single_line_quote

NUMBER_MAX_LENGTH = 40


def field_error(message: str, *, code: str, field: str, kind: Refusal = Refusal.INVALID) -> ServiceError:
    """A ServiceError naming the input it is about (rendered as ``fields: {field: [message]}``)."""
    return ServiceError(message, code=code, kind=kind, field=field)


def rename_pricing_field(field: str) -> str:
    """The engine names an option's lines ``items``; the API calls them ``lines``."""
    return re.sub(r"\bitems\b", "lines", field)


# --- quote input ----------------------------------------------------------------------------


@extend_schema_field({"type": "string", "example": "45.00", "description": "A decimal string (an integer is accepted too); never a float."})
class RawNumberField(serializers.Field):
    """Passed through as sent: :func:`quote_input` parses it, so refusals carry the pricing engine's codes."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class LineInputSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=20, help_text="labour (quantity = hours), materials, callout, other or discount.")
    description = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)
    quantity = RawNumberField(help_text='Up to two decimal places, e.g. "1.5" hours.')
    unit_price = RawNumberField(help_text='Pounds and pence, e.g. "45.00". A discount line has a positive price.')


class OptionInputSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=QuoteOption.Tier.choices, default=QuoteOption.Tier.STANDARD)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    lines = LineInputSerializer(many=True, allow_empty=False)


class DiscountInputSerializer(serializers.Serializer):
    # Kinds are checked by the pricing engine (invalid_kind, with the field's path), like every other pricing input.
    kind = serializers.CharField(max_length=20, help_text="percent or fixed.")
    value = RawNumberField(help_text='A percentage 0..100 or pounds, e.g. "10".')


class QuoteInputSerializer(serializers.Serializer):
    """A bid's quote: a plain ``amount``, or ``lines`` (one standard option), or ``options`` (good / better / best)."""

    amount = money_field(
        min_value=Decimal("0.01"),
        max_value=MAX_AMOUNT,
        required=False,
        help_text="A plain price (net, before VAT) as a one-line quote; the bid's amount is then what the customer pays "
        "(this plus VAT). Send this, or lines, or options.",
    )
    lines = LineInputSerializer(many=True, required=False, allow_empty=False, help_text="One standard option's lines.")
    options = OptionInputSerializer(many=True, required=False, allow_empty=False, help_text="1 to 3 options, each a different tier.")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    valid_until = serializers.DateField(required=False, allow_null=True, default=None, help_text="Default: 14 days from today.")
    discount = DiscountInputSerializer(required=False, allow_null=True, default=None)
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    earliest_start = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the tradesperson could start (UTC)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sent = [name for name in ("amount", "lines", "options") if attrs.get(name) is not None]
        if not sent:
            raise serializers.ValidationError({"amount": ["Give an amount, or the quote's lines, or its options."]})
        if len(sent) > 1:
            raise serializers.ValidationError({sent[1]: [f"Send one of amount, lines or options, not {' and '.join(sent)}."]})
        return attrs


def parse_number(value: Any, field: str) -> Decimal:
    """A decimal string or an integer as ``Decimal``; floats and other types are refused with the field named."""
    if isinstance(value, float):
        raise field_error(
            f'{field} was sent as a float; floats cannot hold pence exactly. Send it as a string, e.g. "{value}".',
            code="float_not_allowed",
            field=field,
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and len(value) <= NUMBER_MAX_LENGTH:
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise field_error(f'{field} must be a number written as a string, e.g. "12.50".', code="not_a_number", field=field)


def _line(data: dict[str, Any], path: str) -> LineItem:
    quantity = parse_number(data["quantity"], f"{path}.quantity")
    unit_price = parse_number(data["unit_price"], f"{path}.unit_price")
    try:
        return LineItem(data["kind"], data["description"], quantity, unit_price)
    except PricingError as exc:
        raise pricing_error(exc, f"{path}.") from exc


def quote_input(data: dict[str, Any]) -> QuoteInput:
    """The validated data of :class:`QuoteInputSerializer` as the quotes service takes it."""
    message = data.get("message", "")
    if data.get("amount") is not None:
        return dataclasses.replace(single_line_quote(data["amount"], message=message), earliest_start=data.get("earliest_start"))
    if data.get("lines") is not None:
        options = [OptionInput(lines=[_line(line, f"lines[{j}]") for j, line in enumerate(data["lines"])])]
    else:
        options = [
            OptionInput(
                lines=[_line(line, f"options[{i}].lines[{j}]") for j, line in enumerate(option["lines"])],
                tier=option["tier"],
                title=option["title"],
            )
            for i, option in enumerate(data["options"])
        ]
    discount = None
    if data.get("discount") is not None:
        value = parse_number(data["discount"]["value"], "discount.value")
        try:
            discount = Discount(data["discount"]["kind"], value)
        except PricingError as exc:
            raise pricing_error(exc) from exc
    return QuoteInput(
        options=options,
        notes=data.get("notes", ""),
        valid_until=data.get("valid_until"),
        discount=discount,
        message=message,
        earliest_start=data.get("earliest_start"),
    )


def locate_quote_error(error: ServiceError, data: dict[str, Any]) -> ServiceError:
    """Name a service's pricing refusal by the API's field names (``lines`` not ``items``; ``amount`` for the shortcut)."""
    field = getattr(error, "field", "")
    if field:
        if data.get("amount") is not None:
            field = "amount"
        elif data.get("lines") is not None:
            field = re.sub(r"^options\[0\]\.", "", rename_pricing_field(field))
        else:
            field = rename_pricing_field(field)
        error.field = field
    return error


# --- quote output ---------------------------------------------------------------------------


def shows_fees(viewer: User | None, tradesperson_id: int) -> bool:
    """The platform fee and the payout are between the marketplace and the tradesperson (and staff)."""
    return bool(viewer is not None and (viewer.is_staff or viewer.pk == tradesperson_id))


class QuoteLineOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuoteLine
        fields = ["kind", "description", "quantity", "unit_price", "amount"]


class QuoteOptionSummarySerializer(serializers.ModelSerializer):
    """An option's figures; ``platform_fee`` and ``payout`` are null unless context["show_fees"]."""

    title = serializers.CharField(source="label", read_only=True, help_text="The tradesperson's title, or the tier's name.")
    platform_fee = serializers.SerializerMethodField()
    payout = serializers.SerializerMethodField()

    class Meta:
        model = QuoteOption
        fields = ["tier", "title", "subtotal", "discounts_total", "net", "tax", "total", "deposit", "balance", "platform_fee", "payout"]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_platform_fee(self, option: QuoteOption) -> str | None:
        return str(option.platform_fee) if self.context.get("show_fees") else None

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_payout(self, option: QuoteOption) -> str | None:
        return str(option.payout) if self.context.get("show_fees") else None


class QuoteOptionOutputSerializer(QuoteOptionSummarySerializer):
    lines = QuoteLineOutputSerializer(many=True, read_only=True)

    class Meta(QuoteOptionSummarySerializer.Meta):
        fields = [*QuoteOptionSummarySerializer.Meta.fields, "lines"]


class QuoteSummarySerializer(serializers.ModelSerializer):
    """The latest version of a bid's quote, as shown with the bid."""

    options = QuoteOptionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = QuoteVersion
        fields = ["number", "valid_until", "notes", "options"]


class QuotedBidOutputSerializer(BidOutputSerializer):
    """A bid with its latest quote (null if it has none, or the viewer may not see it).

    Context: ``viewer`` (the user) and ``quotes`` ({bid id: latest version the viewer may see}).
    """

    quote = serializers.SerializerMethodField()

    class Meta(BidOutputSerializer.Meta):
        fields = [*BidOutputSerializer.Meta.fields, "quote"]

    @extend_schema_field(QuoteSummarySerializer(allow_null=True))
    def get_quote(self, bid: Any) -> dict[str, Any] | None:
        version = (self.context.get("quotes") or {}).get(bid.pk)
        if version is None:
            return None
        context = {"show_fees": shows_fees(self.context.get("viewer"), bid.tradesperson_id)}
        return dict(QuoteSummarySerializer(version, context=context).data)


class QuoteVersionOutputSerializer(serializers.ModelSerializer):
    """One version with its options, lines and what changed since the previous one (context["changes"])."""

    options = QuoteOptionOutputSerializer(many=True, read_only=True)
    discount = serializers.SerializerMethodField()
    accepted = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()

    class Meta:
        model = QuoteVersion
        fields = ["number", "notes", "valid_until", "discount", "created_at", "accepted", "accepted_at", "changes", "options"]

    @extend_schema_field(DiscountInputSerializer(allow_null=True))
    def get_discount(self, version: QuoteVersion) -> dict[str, str] | None:
        if not version.discount_kind:
            return None
        return {"kind": version.discount_kind, "value": str(version.discount_value)}

    def get_accepted(self, version: QuoteVersion) -> bool:
        return version.accepted_at is not None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_changes(self, version: QuoteVersion) -> list[str]:
        changes: dict[int, list[str]] = self.context.get("changes", {})
        return changes.get(version.pk, [])


class QuoteHistorySerializer(serializers.Serializer):
    bid_id = serializers.IntegerField()
    versions = QuoteVersionOutputSerializer(many=True, help_text="Oldest first.")


# --- pricing previews -----------------------------------------------------------------------


class PricedLineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()
    quantity = money_field()
    unit_price = money_field()
    amount = money_field(help_text="quantity x unit_price, rounded half up to the penny.")


class PricedOptionSerializer(serializers.Serializer):
    """Every figure of one option, from the pricing engine (nothing is stored)."""

    tier = serializers.CharField()
    title = serializers.CharField()
    lines = PricedLineSerializer(many=True)
    subtotal = money_field()
    line_discounts = money_field()
    discount_amount = money_field()
    discounts_total = money_field()
    net = money_field()
    tax = money_field()
    total = money_field()
    platform_fee = money_field()
    payout = money_field()
    deposit = money_field()
    balance = money_field()


class QuotePriceOutputSerializer(serializers.Serializer):
    options = PricedOptionSerializer(many=True)


def priced_option(option: OptionInput, figures: Breakdown) -> dict[str, Any]:
    figures_only = set(PricedOptionSerializer._declared_fields) - {"tier", "title"}
    return {"tier": option.tier, "title": option.title, **{name: getattr(figures, name) for name in figures_only}}


class PromoPriceInputSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=QuoteOption.Tier.choices, default=QuoteOption.Tier.STANDARD)
    promo_code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class PromoPriceOutputSerializer(serializers.Serializer):
    """One option of the latest version with the promo applied: what the customer would pay."""

    version = serializers.IntegerField()
    tier = serializers.CharField()
    title = serializers.CharField()
    promo_code = serializers.CharField(help_text="Upper-case; empty without a code.")
    subtotal = money_field()
    discounts_total = money_field(help_text="Line and quote discounts plus the promo.")
    promo_amount = money_field()
    net = money_field()
    tax = money_field()
    total = money_field(help_text="Send this as expected_total when accepting.")
    deposit = money_field(help_text="Held on the card when accepting.")
    balance = money_field(help_text="Charged when the job is completed.")


# --- acceptance and payments ----------------------------------------------------------------


def check_card_token(value: str) -> str:
    """Refuse a card number before it goes anywhere; the error never repeats what was sent."""
    if luhn_like_numbers(value) or sum(ch.isdigit() for ch in value) >= 12:
        raise field_error("Send the card token from the payment form, never a card number.", code="card_number_sent", field="card_token")
    return value


class CardTokenField(serializers.CharField):
    default_error_messages = {"max_length": "A card token is at most {max_length} characters."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, help_text="The payment form's token, e.g. tok_visa (SIMULATED). Never a card number.", **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str):
            check_card_token(data)
        return super().run_validation(data)


class AcceptInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="The version the customer reviewed; a newer one is quote_changed (409).")
    tier = serializers.ChoiceField(choices=QuoteOption.Tier.choices, default=QuoteOption.Tier.STANDARD)
    card_token = CardTokenField()
    promo_code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    expected_total = money_field(
        required=False, allow_null=True, default=None, help_text="The total the customer saw; a different total is total_changed (409)."
    )


class AwardInputSerializer(AcceptInputSerializer):
    bid_id = serializers.IntegerField(min_value=1, help_text="The bid whose quote is accepted; every other open bid is declined.")


class PayBalanceInputSerializer(serializers.Serializer):
    card_token = CardTokenField()


class ApproveInputSerializer(serializers.Serializer):
    tip = money_field(
        min_value=Decimal("0.00"),
        max_value=MAX_AMOUNT,
        required=False,
        default=Decimal("0.00"),
        help_text="Optional, all of it to the tradesperson (no platform fee). Limits: settings PAYMENTS TIP_MAX_PERCENT / TIP_MAX.",
    )


class DisputeInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=2000, help_text="What is wrong with the work (10 to 2,000 characters).")


class RefundInputSerializer(serializers.Serializer):
    amount = money_field(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, help_text="At most what was kept (captured less refunded).")
    reason = serializers.CharField(max_length=200)


class AcceptanceOutputSerializer(serializers.ModelSerializer):
    """The contract: the accepted option's figures with the promo applied (fees null for the customer)."""

    version = serializers.IntegerField(source="version.number", read_only=True)
    tier = serializers.CharField(source="option.tier", read_only=True)
    title = serializers.CharField(source="option.label", read_only=True)
    platform_fee = serializers.SerializerMethodField(help_text="Platform revenue; negative when its promo exceeds its fee.")
    fee_charged = serializers.SerializerMethodField(help_text="The platform fee the tradesperson was charged (tradesperson and staff).")
    payout = serializers.SerializerMethodField()

    class Meta:
        model = QuoteAcceptance
        fields = [
            "id", "job", "bid", "version", "tier", "title", "promo_code", "promo_amount", "promo_funded_by", "subtotal",
            "discounts_total", "net", "tax", "total", "deposit", "balance", "platform_fee", "fee_charged", "payout", "accepted_at",
        ]  # fmt: skip

    def _fees(self, acceptance: QuoteAcceptance) -> bool:
        return shows_fees(self.context.get("viewer"), acceptance.tradesperson_id)

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_platform_fee(self, acceptance: QuoteAcceptance) -> str | None:
        return str(acceptance.platform_fee) if self._fees(acceptance) else None

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_fee_charged(self, acceptance: QuoteAcceptance) -> str | None:
        return str(acceptance.fee_charged) if self._fees(acceptance) else None

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True))
    def get_payout(self, acceptance: QuoteAcceptance) -> str | None:
        return str(acceptance.payout) if self._fees(acceptance) else None


class PaymentOperationOutputSerializer(serializers.ModelSerializer):
    """One request to the gateway. ``card_token`` and ``gateway_id`` are for staff only (null otherwise)."""

    card_token = serializers.SerializerMethodField()
    gateway_id = serializers.SerializerMethodField()

    class Meta:
        model = PaymentOperation
        fields = ["kind", "amount", "status", "reason", "created_at", "completed_at", "card_token", "gateway_id"]

    def _staff(self) -> bool:
        viewer = self.context.get("viewer")
        return bool(viewer is not None and viewer.is_staff)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_card_token(self, op: PaymentOperation) -> str | None:
        return op.card_token if self._staff() else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_gateway_id(self, op: PaymentOperation) -> str | None:
        return op.gateway_id if self._staff() else None


PAID_STATUSES = {Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED}


class PaymentOutputSerializer(serializers.ModelSerializer):
    """A job's payment. Context: ``viewer`` and ``operations`` (the selector's list)."""

    total = serializers.DecimalField(source="acceptance.total", max_digits=12, decimal_places=2, read_only=True)
    deposit = serializers.DecimalField(source="acceptance.deposit", max_digits=12, decimal_places=2, read_only=True)
    balance = serializers.DecimalField(source="acceptance.balance", max_digits=12, decimal_places=2, read_only=True)
    platform_fee = serializers.SerializerMethodField(help_text="Tradesperson and staff only.")
    payout = serializers.SerializerMethodField(help_text="Tradesperson and staff only: what the tradesperson receives.")
    payout_paid = serializers.SerializerMethodField(help_text="Tradesperson and staff only.")
    operations = serializers.SerializerMethodField()
    invoice_url = serializers.SerializerMethodField()
    invoice_pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id", "job", "status", "currency", "total", "deposit", "balance", "held", "captured", "refunded",
            "cancellation_fee", "platform_fee", "payout", "payout_paid", "operations", "invoice_url", "invoice_pdf_url",
            "tip", "reduction", "approval_due_at", "approved_at", "approved_automatically",
            "created_at", "updated_at", "settled_at",
        ]  # fmt: skip

    def _fees(self, payment: Payment) -> bool:
        return shows_fees(self.context.get("viewer"), payment.tradesperson_id)

    @extend_schema_field(money_out())
    def get_platform_fee(self, payment: Payment) -> str | None:
        return str(payment.platform_revenue or payment.acceptance.platform_fee) if self._fees(payment) else None

    @extend_schema_field(money_out())
    def get_payout(self, payment: Payment) -> str | None:
        return str(payment.acceptance.payout) if self._fees(payment) else None

    @extend_schema_field(money_out())
    def get_payout_paid(self, payment: Payment) -> str | None:
        return str(payment.payout_paid) if self._fees(payment) else None

    @extend_schema_field(PaymentOperationOutputSerializer(many=True))
    def get_operations(self, payment: Payment) -> list[Any]:
        operations = self.context.get("operations", [])
        return list(PaymentOperationOutputSerializer(operations, many=True, context=self.context).data)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_invoice_url(self, payment: Payment) -> str | None:
        return f"/jobs/{payment.job_id}/invoice/" if payment.status in PAID_STATUSES else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_invoice_pdf_url(self, payment: Payment) -> str | None:
        """The issued invoice as a PDF, once the payment was paid (a cancellation receipt has none)."""
        return f"/jobs/{payment.job_id}/invoice.pdf" if Invoice.objects.filter(payment=payment).exists() else None


class AcceptOutputSerializer(serializers.Serializer):
    acceptance = AcceptanceOutputSerializer()
    payment = PaymentOutputSerializer()


class WebhookOutputSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="What the webhook changed, for the gateway's delivery log.")


# --- fixed-price services ------------------------------------------------------------------


class ServiceOfferingOutputSerializer(serializers.ModelSerializer):
    """A bookable fixed-price service: the price is what the customer pays (VAT included), the deposit what booking holds."""

    trade: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    price = money_out()
    deposit = serializers.SerializerMethodField(help_text="Held on the card when booking (the same rule as accepting a quote).")
    free_starts = serializers.SerializerMethodField(help_text="The next free starts (UTC, ISO 8601) to book at.")

    class Meta:
        model = ServiceOffering
        fields = ["id", "pro", "trade", "title", "description", "price", "duration_minutes", "deposit", "free_starts"]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2))
    def get_deposit(self, offering: ServiceOffering) -> str:
        return str(offering_deposit(offering))

    @extend_schema_field(serializers.ListField(child=serializers.DateTimeField()))
    def get_free_starts(self, offering: ServiceOffering) -> list[str]:
        return [start.isoformat().replace("+00:00", "Z") for start in offering_slots(offering=offering)]


class BookInputSerializer(serializers.Serializer):
    """Booking a service: a free start, where the job is (coordinates or a known ``place``), and the card token."""

    starts_at = serializers.DateTimeField(help_text="One of the service's free starts (ISO 8601).")
    latitude = latitude_field(required=False)
    longitude = longitude_field(required=False)
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    card_token = CardTokenField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return fill_from_place(attrs, place_key="place", lat_key="latitude", lon_key="longitude", required=True)


# --- the price book (a business's own saved items and templates) --------------------------------

_ITEM_KINDS = PriceBookItem.Kind.choices


class PriceBookItemInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="The quote line's text; empty: the name."
    )
    kind = serializers.ChoiceField(choices=_ITEM_KINDS, required=False, default="materials")
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="", help_text='e.g. "hour", "each".')
    unit_price = money_field(min_value=Decimal("0"), help_text="Pounds before VAT, as on a quote line.")
    active = serializers.BooleanField(required=False, default=True, help_text="false archives it (not offered in the quote builder).")


class PriceBookItemOutputSerializer(serializers.ModelSerializer):
    unit_price = money_out(help_text="Pounds before VAT.")

    class Meta:
        model = PriceBookItem
        fields = ["id", "name", "description", "kind", "unit", "unit_price", "active", "created_at", "updated_at"]


class TemplateLineInputSerializer(serializers.Serializer):
    item = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="One of your price book items' ids.")
    kind = serializers.ChoiceField(choices=_ITEM_KINDS, required=False, allow_blank=True, default="", help_text="Empty: the item's.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="", help_text="Empty: the item's.")
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, default=Decimal(1))
    unit_price = money_field(required=False, allow_null=True, default=None, help_text="Pounds before VAT; null: the item's.")


class QuoteTemplateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    trade = serializers.SlugRelatedField(slug_field="slug", queryset=Trade.objects.all(), required=False, allow_null=True, default=None)
    lines = TemplateLineInputSerializer(many=True, help_text="In order; they replace the template's lines.")
    active = serializers.BooleanField(required=False, default=True, help_text="false archives it (not offered in the quote builder).")


class QuoteTemplateLineOutputSerializer(serializers.ModelSerializer):
    unit_price = money_out(help_text="Pounds before VAT.")

    class Meta:
        model = QuoteTemplateLine
        fields = ["position", "item", "kind", "description", "quantity", "unit_price"]


class QuoteTemplateOutputSerializer(serializers.ModelSerializer):
    trade: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    lines = QuoteTemplateLineOutputSerializer(many=True, read_only=True)

    class Meta:
        model = QuoteTemplate
        fields = ["id", "name", "trade", "active", "lines", "created_at", "updated_at"]


# --- service plans -------------------------------------------------------------------------------


class PlanVisitOutputSerializer(serializers.Serializer):
    due_date = serializers.DateField()
    status = serializers.CharField(help_text="pending, booked, awarded (no free time: the business schedules it) or needs_payment.")
    job_id = serializers.IntegerField(allow_null=True, help_text="The visit's job (its appointment and payment are the job's).")


class PlanOutputSerializer(serializers.ModelSerializer):
    """A service plan: the same job every ``interval_months`` at ``price`` (VAT included), the next due date, the visits."""

    price = money_out()
    tradesperson = serializers.IntegerField(source="pro_id", read_only=True)
    trade: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_from = serializers.IntegerField(source="created_from_id", read_only=True, allow_null=True)
    visits = serializers.SerializerMethodField()

    class Meta:
        model = ServiceAgreement
        fields = [
            "id",
            "status",
            "customer",
            "tradesperson",
            "trade",
            "title",
            "price",
            "duration_minutes",
            "interval_months",
            "next_due",
            "created_from",
            "accepted_at",
            "cancelled_at",
            "created_at",
            "visits",
        ]

    @extend_schema_field(PlanVisitOutputSerializer(many=True))
    def get_visits(self, plan: ServiceAgreement) -> list[dict[str, Any]]:
        return [{"due_date": v.due_date, "status": v.status, "job_id": v.job_id} for v in plan.occurrences.all()]


class PlanOfferInputSerializer(serializers.Serializer):
    """The business offers the customer of a completed job a plan."""

    job_id = serializers.IntegerField(help_text="A job you completed; its customer is asked to accept.")
    price = money_field(help_text="What the customer pays for each visit, VAT included.")
    interval_months = serializers.IntegerField(min_value=1, required=False, help_text="Months between visits (default 12).")
    duration_minutes = serializers.IntegerField(min_value=15, required=False, default=60)


class PlanAcceptInputSerializer(serializers.Serializer):
    card_token = CardTokenField()
