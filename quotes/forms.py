"""The quote builder's form: parse what a tradesperson typed into a :class:`quotes.services.QuoteInput`.

The builder posts flat fields, so it works without JavaScript and the script can add and
remove rows freely (row numbers need not be contiguous)::

    alternatives=on                          good / better / best instead of one option
    opt-<i>-title                            i = 0, 1, 2 (good, better, best)
    opt-<i>-line-<j>-kind|description|quantity|unit_price
    notes, valid_until (YYYY-MM-DD), discount_kind (""|percent|fixed), discount_value, message

:func:`parse_quote` never raises for bad input: it returns a :class:`QuoteDraft` holding what
was typed (to show it again) and ``errors`` keyed by field name (the posted name, or
``opt-<i>`` for an option as a whole, or ``__all__``). Figures come only from the pricing
engine (:func:`price_draft`), never from the client.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import QueryDict

from jobs import forms as jobs_forms
from jobs.models import Trade
from marketplace.errors import ServiceError
from marketplace.money import currency_symbol
from quotes.models import PriceBookItem, QuoteLine, QuoteOption, QuoteTemplate, QuoteVersion
from quotes.pricing import Breakdown, Discount, LineItem, PricingError, price

from . import terms
from .pricebook import TemplateLineInput
from .services import OptionInput, QuoteInput, free_option_error

ALTERNATIVE_TIERS = ("good", "better", "best")
LINE_KINDS = [(k.value, k.label) for k in QuoteLine.Kind]
BLANK_ROWS = 2  # empty rows rendered under each option, for people without JavaScript
MAX_DESCRIPTION = 200
MAX_TITLE = 120
MAX_TEXT = 2000

_LINE_FIELD = re.compile(r"^opt-([0-2])-line-(\d{1,4})-(kind|description|quantity|unit_price)$")


@dataclass
class DraftLine:
    key: str  # "opt-0-line-3"
    kind: str = "labour"
    description: str = ""
    quantity: str = "1"
    unit_price: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # by field: "unit_price" -> message (for the template)

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.unit_price.strip())


@dataclass
class DraftOption:
    index: int
    title: str = ""
    lines: list[DraftLine] = field(default_factory=list)
    figures: Breakdown | None = None
    error: str = ""

    @property
    def tier(self) -> str:
        return ALTERNATIVE_TIERS[self.index]

    @property
    def key(self) -> str:
        return f"opt-{self.index}"


@dataclass
class QuoteDraft:
    alternatives: bool = False
    options: list[DraftOption] = field(default_factory=list)
    notes: str = ""
    valid_until: str = ""
    discount_kind: str = ""
    discount_value: str = ""
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    quote: QuoteInput | None = None  # set by parse_quote when everything is valid

    def used_options(self) -> list[DraftOption]:
        """The options the quote consists of: the first alone, or every alternative with a line."""
        if not self.alternatives:
            return self.options[:1]
        return [o for o in self.options if any(not line.blank for line in o.lines)]

    def attach_errors(self) -> QuoteDraft:
        """Copy ``errors`` onto the options and lines they concern, for the template."""
        for option in self.options:
            option.error = self.errors.get(option.key, "")
            for line in option.lines:
                prefix = line.key + "-"
                line.errors = {k[len(prefix) :]: v for k, v in self.errors.items() if k.startswith(prefix)}
        return self

    def with_blank_rows(self) -> QuoteDraft:
        """The draft with a couple of empty rows under each option, for typing (no-JS friendly)."""
        for option in self.options:
            taken = [int(line.key.rsplit("-", 1)[1]) for line in option.lines]
            start = max(taken, default=-1) + 1
            option.lines += [DraftLine(f"{option.key}-line-{start + n}") for n in range(BLANK_ROWS)]
        return self


def _number(text: str, key: str, errors: dict[str, str]) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "").replace(currency_symbol(), ""))  # "£1,200" typed as shown
    except InvalidOperation:
        errors[key] = "Enter a number, e.g. 2 or 45.50."
        return None
    if not value.is_finite():
        errors[key] = "Enter a number, e.g. 2 or 45.50."
        return None
    return value


def _line_item(line: DraftLine, errors: dict[str, str]) -> LineItem | None:
    if not line.description.strip():
        errors[f"{line.key}-description"] = "Describe this line."
    if not line.unit_price.strip():
        errors[f"{line.key}-unit_price"] = "Enter a price."
    quantity = _number(line.quantity or "1", f"{line.key}-quantity", errors)
    unit_price = _number(line.unit_price, f"{line.key}-unit_price", errors) if line.unit_price.strip() else None
    if len(line.description) > MAX_DESCRIPTION:
        errors[f"{line.key}-description"] = f"At most {MAX_DESCRIPTION} characters."
    if any(k.startswith(line.key + "-") for k in errors) or quantity is None or unit_price is None:
        return None
    try:
        return LineItem(line.kind, line.description.strip(), quantity, unit_price)  # type: ignore[arg-type]
    except PricingError as exc:
        errors[f"{line.key}-{exc.field or 'description'}"] = exc.message
        return None


def _discount(draft: QuoteDraft) -> Discount | None:
    if not draft.discount_kind or not draft.discount_value.strip():
        return None
    value = _number(draft.discount_value, "discount_value", draft.errors)
    if value is None:
        return None
    try:
        return Discount(draft.discount_kind, value)  # type: ignore[arg-type]
    except PricingError as exc:
        draft.errors["discount_value"] = exc.message
        return None


def _valid_until(draft: QuoteDraft, today: date) -> date | None:
    text = draft.valid_until.strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        draft.errors["valid_until"] = "Enter a date, e.g. 2031-07-15."
        return None
    if value < today:
        draft.errors["valid_until"] = "Choose today or a later day."
        return None
    return value


def parse_quote(data: QueryDict, *, today: date, tax_rate: Decimal) -> QuoteDraft:
    """What the builder posted, checked and priced at the business's VAT rate; ``draft.quote`` is set only if nothing is wrong."""
    draft = QuoteDraft(
        alternatives=bool(data.get("alternatives")),
        notes=data.get("notes", ""),
        valid_until=data.get("valid_until", ""),
        discount_kind=data.get("discount_kind", "") if data.get("discount_kind") in ("percent", "fixed") else "",
        discount_value=data.get("discount_value", ""),
        message=data.get("message", ""),
    )
    draft.options = [DraftOption(i, title=data.get(f"opt-{i}-title", "")[:MAX_TITLE]) for i in range(len(ALTERNATIVE_TIERS))]
    rows: dict[str, DraftLine] = {}
    for name in data:
        match = _LINE_FIELD.match(name)
        if match is None:
            continue
        key = f"opt-{match[1]}-line-{match[2]}"
        line = rows.get(key) or rows.setdefault(key, DraftLine(key))
        setattr(line, match[3], data.get(name, "").strip() if match[3] != "description" else data.get(name, ""))
    for key in sorted(rows, key=lambda k: (int(k.split("-")[1]), int(k.split("-")[3]))):
        draft.options[int(key.split("-")[1])].lines.append(rows[key])
    for line in rows.values():
        if line.kind not in dict(LINE_KINDS):
            draft.errors[f"{line.key}-kind"] = "Choose labour, materials, call-out, other or discount."

    if len(draft.notes) > MAX_TEXT:
        draft.errors["notes"] = f"At most {MAX_TEXT:,} characters."
    if len(draft.message) > MAX_TEXT:
        draft.errors["message"] = f"At most {MAX_TEXT:,} characters."
    valid_until = _valid_until(draft, today)
    discount = _discount(draft)

    used = draft.used_options()
    if not used:
        draft.errors["opt-0"] = "Add at least one line to an option."
    options: list[OptionInput] = []
    for option in used:
        items = [item for line in option.lines if not line.blank and (item := _line_item(line, draft.errors)) is not None]
        if not any(not line.blank for line in option.lines):
            draft.errors[option.key] = "Add at least one line with a price."
            continue
        if any(k.startswith(option.key + "-line-") for k in draft.errors):
            continue
        try:
            option.figures = price(items, policy=terms.policy(tax_rate=tax_rate), discount=discount)
        except PricingError as exc:
            draft.errors[option.key] = exc.message
            continue
        if option.figures.total <= 0:
            # The same refusal the service makes, next to the field a person would change.
            tier = option.tier if draft.alternatives else QuoteOption.Tier.STANDARD
            refusal = free_option_error(option.index, tier, discount is not None)
            draft.errors["discount_value" if discount is not None else option.key] = refusal.message
            continue
        tier = option.tier if draft.alternatives else QuoteOption.Tier.STANDARD
        options.append(OptionInput(lines=items, tier=tier, title=option.title.strip() if draft.alternatives else ""))
    if not draft.errors:
        draft.quote = QuoteInput(options=options, notes=draft.notes, valid_until=valid_until, discount=discount, message=draft.message)
    return draft


def draft_from_version(version: QuoteVersion | None, *, message: str = "", today: date) -> QuoteDraft:
    """The builder prefilled: from the latest version (to revise), or one empty option."""
    if version is None:
        draft = QuoteDraft(valid_until=terms.default_valid_until(today).isoformat(), message=message)
        draft.options = [DraftOption(i) for i in range(len(ALTERNATIVE_TIERS))]
        draft.options[0].lines = [DraftLine("opt-0-line-0", kind="labour"), DraftLine("opt-0-line-1", kind="materials")]
        return draft
    stored = list(version.options.all())
    alternatives = len(stored) > 1 or (bool(stored) and stored[0].tier != QuoteOption.Tier.STANDARD)
    draft = QuoteDraft(
        alternatives=alternatives,
        notes=version.notes,
        valid_until=max(version.valid_until, today).isoformat(),
        discount_kind=version.discount_kind,
        discount_value=f"{version.discount_value:f}" if version.discount_kind else "",
        message=message,
    )
    draft.options = [DraftOption(i) for i in range(len(ALTERNATIVE_TIERS))]
    for option in stored:
        index = ALTERNATIVE_TIERS.index(option.tier) if option.tier in ALTERNATIVE_TIERS else 0
        target = draft.options[index]
        target.title = option.title
        target.lines = [
            DraftLine(f"{target.key}-line-{n}", line.kind, line.description, _plain(line.quantity), _plain(line.unit_price))
            for n, line in enumerate(option.lines.all())
        ]
    return draft


def _plain(value: Decimal) -> str:
    """1.00 -> "1", 45.50 -> "45.50": as a person would type it."""
    return f"{value:f}" if value != value.to_integral_value() else f"{value.to_integral_value():f}"


def figures_json(figures: Breakdown) -> dict[str, Any]:
    return {
        "subtotal": str(figures.subtotal),
        "discounts_total": str(figures.discounts_total),
        "promo_amount": str(figures.promo_amount),
        "net": str(figures.net),
        "tax": str(figures.tax),
        "total": str(figures.total),
        "deposit": str(figures.deposit),
        "balance": str(figures.balance),
        "platform_fee": str(figures.platform_fee),
        "payout": str(figures.payout),
    }


# --- fixed-price services and booking them ---------------------------------------------------


def duration_label(minutes: int) -> str:
    """90 -> "1 h 30 min", 60 -> "1 h", 45 -> "45 min"."""
    hours, rest = divmod(minutes, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{rest} min" if rest else "") if part)


class ServiceOfferingForm(forms.Form):
    """A tradesperson's fixed-price service (``quotes.offerings.offering_save``); trades limited to their own."""

    trade = forms.ModelChoiceField(label="Trade", queryset=Trade.objects.none(), empty_label=None)
    title = forms.CharField(label="Service", max_length=120, widget=forms.TextInput(attrs={"placeholder": "e.g. Boiler service"}))
    description = forms.CharField(
        label="What's included",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "e.g. Annual gas boiler service with safety check and certificate"}),
    )
    price = jobs_forms.money_field("Price (VAT included)", required=True, minimum="0.01")
    duration_minutes = forms.TypedChoiceField(
        label="Takes",
        coerce=int,
        choices=[(m, duration_label(m)) for m in (30, 45, 60, 90, 120, 180, 240, 360, 480)],
        initial=60,
    )
    active = forms.BooleanField(label="Customers can book it", required=False, initial=True)

    def __init__(self, *args: Any, trades: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["trade"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = trades if trades is not None else Trade.objects.none()


class BookingForm(jobs_forms.PlaceMixin):
    """Booking a service: where, which free start (ISO 8601, UTC, one of those offered) and the test card."""

    place_required_message = "Choose where the job is: a place from the list, or coordinates."

    starts_at = forms.DateTimeField(label="Time", error_messages={"required": "Choose a time."})
    notes = forms.CharField(label="Anything they should know", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    card_token = forms.ChoiceField(label="Card")
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, cards: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        field = self.fields["card_token"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = cards


# --- the price book ----------------------------------------------------------------------------

PRICE_BOOK_KINDS = [(k.value, k.label) for k in PriceBookItem.Kind]
TEMPLATE_BLANK_ROWS = 3  # empty rows under a template's lines (no script needed to add lines)
_TEMPLATE_LINE = re.compile(r"^line-(\d{1,3})-(item|kind|description|quantity|unit_price)$")


class PriceBookItemForm(forms.Form):
    """A saved line (``quotes.pricebook.price_book_item_save``): what it is called, the text a customer reads, its price before VAT."""

    name = forms.CharField(
        label="Name",
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Tap cartridge"}),
        error_messages={"required": "Give the item a name, e.g. Tap cartridge."},
    )
    description = forms.CharField(
        label="Text on the quote",
        max_length=200,
        required=False,
        help_text="What the customer reads on the quote line. Leave empty to use the name.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Replace tap cartridge (ceramic, 1/2 inch)"}),
    )
    kind = forms.ChoiceField(label="Kind", choices=PRICE_BOOK_KINDS, initial=PriceBookItem.Kind.MATERIALS)
    unit = forms.CharField(
        label="Unit", max_length=20, required=False, widget=forms.TextInput(attrs={"placeholder": "e.g. each, hour, metre"})
    )
    unit_price = jobs_forms.money_field("Unit price before VAT", required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit_price"].error_messages.update(
            {"required": "Enter a price, e.g. 18 or 18.50.", "invalid": "Enter a price in pounds and pence, e.g. 18 or 18.50."}
        )


@dataclass
class TemplateDraftLine:
    key: str  # "line-3"
    item: str = ""
    kind: str = ""  # empty: the item's kind (materials for a typed line)
    description: str = ""
    quantity: str = "1"
    unit_price: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not (self.item or self.description.strip() or self.unit_price.strip())


@dataclass
class TemplateDraft:
    name: str = ""
    trade: str = ""
    lines: list[TemplateDraftLine] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # "name", "trade", "lines", "line-3-unit_price", "form"
    parsed: list[TemplateLineInput] | None = None  # set when every line reads

    def attach_errors(self) -> TemplateDraft:
        for line in self.lines:
            prefix = line.key + "-"
            line.errors = {k[len(prefix) :]: v for k, v in self.errors.items() if k.startswith(prefix)}
        return self

    def with_blank_rows(self) -> TemplateDraft:
        start = max((int(line.key.split("-")[1]) for line in self.lines), default=-1) + 1
        self.lines += [TemplateDraftLine(f"line-{start + n}") for n in range(TEMPLATE_BLANK_ROWS)]
        return self


def parse_template(data: QueryDict, *, items: dict[int, PriceBookItem]) -> TemplateDraft:
    """The template form (``name``, ``trade``, ``line-<n>-item|kind|description|quantity|unit_price``) read into service
    inputs; a line with an item may leave its text and price empty (the item's are used). ``items``: the business's own."""
    draft = TemplateDraft(name=data.get("name", ""), trade=data.get("trade", ""))
    rows: dict[int, TemplateDraftLine] = {}
    for name in data:
        match = _TEMPLATE_LINE.match(name)
        if match:
            line = rows.setdefault(int(match[1]), TemplateDraftLine(f"line-{match[1]}"))
            setattr(line, match[2], data.get(name, "").strip() if match[2] != "description" else data.get(name, ""))
    draft.lines = [rows[n] for n in sorted(rows) if not rows[n].blank]
    parsed: list[TemplateLineInput] = []
    for line in draft.lines:
        item = items.get(int(line.item)) if line.item.isdigit() else None
        if line.item and item is None:
            draft.errors[f"{line.key}-item"] = "Choose an item from your price book."
            continue
        quantity = _number(line.quantity or "1", f"{line.key}-quantity", draft.errors)
        unit_price = _number(line.unit_price, f"{line.key}-unit_price", draft.errors) if line.unit_price.strip() else None
        if quantity is None or (line.unit_price.strip() and unit_price is None):
            continue
        parsed.append(
            TemplateLineInput(description=line.description.strip(), quantity=quantity, unit_price=unit_price, kind=line.kind, item=item)
        )
    if not draft.errors:
        draft.parsed = parsed
    return draft


def draft_from_template(template: QuoteTemplate | None) -> TemplateDraft:
    if template is None:
        return TemplateDraft()
    return TemplateDraft(
        name=template.name,
        trade=str(template.trade_id or ""),
        lines=[
            TemplateDraftLine(
                f"line-{n}", str(line.item_id or ""), line.kind, line.description, _plain(line.quantity), _plain(line.unit_price)
            )
            for n, line in enumerate(template.lines.all())
        ],
    )


def template_error_key(exc: ServiceError, draft: TemplateDraft) -> str:
    """Where a refusal of ``quote_template_save`` belongs: ``lines[2].unit_price`` -> the third line's price box."""
    match = re.match(r"^lines\[(\d+)\]\.(\w+)$", exc.field)
    if match and int(match[1]) < len(draft.lines):
        return f"{draft.lines[int(match[1])].key}-{match[2]}"
    return exc.field if exc.field in ("name", "lines") else "form"


def builder_price_book(items: Any, templates: Any) -> dict[str, Any]:
    """What the quote builder's pickers offer (read by quote-builder.js from a json_script): copies, not prices.

    Figures still come only from the pricing engine once the lines are in the form.
    """
    return {
        "items": [
            {"id": i.pk, "name": i.name, "kind": i.kind, "description": i.description, "unit": i.unit, "unit_price": f"{i.unit_price:f}"}
            for i in items
        ],
        "templates": [
            {
                "id": t.pk,
                "name": t.name,
                "lines": [
                    {
                        "kind": line.kind,
                        "description": line.description,
                        "quantity": _plain(line.quantity),
                        "unit_price": f"{line.unit_price:f}",
                    }
                    for line in t.lines.all()
                ],
            }
            for t in templates
        ],
    }
