"""The price book: the only code that writes a business's saved line items and quote templates.

A business (a tradesperson's account) keeps :class:`~quotes.models.PriceBookItem` rows and
:class:`~quotes.models.QuoteTemplate` rows with ordered lines. The quote builder offers them: picking
one copies text and price into ordinary quote lines the tradesperson can still edit, and the quote is
then priced by the one pricing engine (``quotes.pricing.price``) like any typed line. So nothing here
computes money: a unit price is checked (pounds and pence, not negative, within the engine's limits by
building the engine's own :class:`~quotes.pricing.LineItem`) and stored.

Audit: every save and archive emits ``price_book.item_changed`` or ``price_book.template_changed``
(``quotes/events.py``; aggregate ``pro``, key = the business) in the same transaction, so the audit log
records who changed which saved price when. Nothing else reacts to them; a quote built from the price book
emits ``quote.published`` as any quote does.

Refusals are :class:`~marketplace.errors.ServiceError` with ``field`` naming the input (``name``,
``unit_price``, ``lines[2].quantity`` ...), so pages and the API put the sentence next to the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Trade
from jobs.services import scrub
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit
from marketplace.money import format_money

from . import events as ev
from .models import PriceBookItem, QuoteTemplate, QuoteTemplateLine
from .pricing import LineItem, PricingError

ITEM_KINDS = frozenset(PriceBookItem.Kind.values)


def _check_business(business: User) -> None:
    if not business.is_tradesperson:
        raise ServiceError("Only tradespeople keep a price book.", code="not_a_tradesperson", kind=Refusal.FORBIDDEN)


def _invalid(message: str, code: str, field: str) -> ServiceError:
    return ServiceError(message, code=code, kind=Refusal.INVALID, field=field)


def _text(value: str, *, field: str, limit: int, missing: str) -> str:
    text = scrub((value or "").strip())
    if not text:
        raise _invalid(missing, "missing_text", field)
    if len(text) > limit:
        raise _invalid(f"Keep it to {limit} characters or fewer.", "too_long", field)
    return text


def _price(value: Decimal, *, field: str) -> Decimal:
    try:
        amount = job_services.money(value)
    except ServiceError as exc:
        raise _invalid("Enter a price in pounds and pence, e.g. 45 or 45.50.", "bad_amount", field) from exc
    if amount < 0:
        raise _invalid("A price cannot be negative; use a discount on the quote instead.", "bad_amount", field)
    ceiling = Decimal(settings.PRICING["MAX_AMOUNT"])
    if amount > ceiling:
        raise _invalid(f"The price can be at most {format_money(ceiling)}.", "amount_too_large", field)
    return amount


def _kind(value: str, *, field: str) -> str:
    if value not in ITEM_KINDS:
        raise _invalid("Choose labour, materials, call-out or other.", "invalid_kind", field)
    return value


def _as_engine_line(kind: str, description: str, quantity: Decimal, unit_price: Decimal, *, prefix: str) -> None:
    """The engine's own checks on a line (quantity limits, precision), so a saved line always prices."""
    try:
        LineItem(kind, description, quantity, unit_price)  # type: ignore[arg-type]
    except PricingError as exc:
        message = {
            "bad_quantity": "The quantity must be more than zero.",
            "quantity_too_large": "The quantity is too large.",
            "too_precise": "Use at most two decimal places.",
        }.get(exc.code, "Check this line's quantity and price.")
        raise _invalid(message, exc.code, f"{prefix}{exc.field or 'quantity'}") from exc


# --- items -------------------------------------------------------------------------------------


def price_book_item_save(
    *,
    business: User,
    name: str,
    description: str,
    unit_price: Decimal,
    kind: str = PriceBookItem.Kind.MATERIALS,
    unit: str = "",
    active: bool = True,
    item: PriceBookItem | None = None,
) -> PriceBookItem:
    """Add an item to ``business``'s price book, or change one of its own (``item``).

    ``unit_price`` is before VAT, as on a quote line. An empty ``description`` takes the name.
    Refused: not a tradesperson (403), someone else's item (404 ``not_found``), a blank name, a price that is
    not pounds and pence or is negative (400, ``field`` names the input). Quotes already sent are unchanged.
    """
    _check_business(business)
    if item is not None and item.business_id != business.pk:
        raise ServiceError("No such price book item.", code="not_found", kind=Refusal.NOT_FOUND)
    clean_name = _text(name, field="name", limit=120, missing="Give the item a name, e.g. Replace tap cartridge.")
    fields = {
        "name": clean_name,
        "description": _text(description or clean_name, field="description", limit=200, missing="Describe the item."),
        "kind": _kind(kind, field="kind"),
        "unit": scrub((unit or "").strip())[:20],
        "unit_price": _price(unit_price, field="unit_price"),
        "active": active,
    }
    _as_engine_line(str(fields["kind"]), str(fields["description"]), Decimal(1), fields["unit_price"], prefix="")  # type: ignore[arg-type]
    with transaction.atomic():
        if item is None:
            item = PriceBookItem.objects.create(business=business, **fields)
            action = "added"
        else:
            item = PriceBookItem.objects.select_for_update().get(pk=item.pk)
            for key, value in fields.items():
                setattr(item, key, value)
            item.save()
            action = "changed"
        _item_event(item, action)
    return item


def price_book_item_archive(*, item: PriceBookItem, actor: User, active: bool = False) -> PriceBookItem:
    """Archive an item (no longer offered in the builder; templates and quotes keep their copies) or restore it."""
    if item.business_id != actor.pk:
        raise ServiceError("No such price book item.", code="not_found", kind=Refusal.NOT_FOUND)
    with transaction.atomic():
        item.active = active
        item.save(update_fields=["active", "updated_at"])
        _item_event(item, "restored" if active else "archived")
    return item


def _item_event(item: PriceBookItem, action: str) -> None:
    data: ev.PriceBookItemChangedV1 = {
        "business_id": item.business_id,
        "item_id": item.pk,
        "action": action,  # type: ignore[typeddict-item]  # one of the four, by the callers
        "name": item.name,
        "kind": item.kind,
        "unit_price": str(item.unit_price),
        "active": item.active,
        "at": timezone.now().isoformat(),
    }
    emit(ev.PRICE_BOOK_ITEM_CHANGED, aggregate_id=item.business_id, data=data, actor_id=item.business_id)


# --- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateLineInput:
    """One line of a template: from a price book ``item`` (its text, kind and price unless given) or typed freely."""

    description: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    kind: str = ""
    item: PriceBookItem | None = None


def _template_line(business: User, line: TemplateLineInput, index: int) -> QuoteTemplateLine:
    prefix = f"lines[{index}]."
    item = line.item
    if item is not None and item.business_id != business.pk:
        raise _invalid("Choose an item from your own price book.", "not_your_item", f"{prefix}item")
    description = line.description or (item.description if item else "")
    unit_price = line.unit_price if line.unit_price is not None else (item.unit_price if item else None)
    if unit_price is None:
        raise _invalid("Enter a price.", "missing_price", f"{prefix}unit_price")
    row = QuoteTemplateLine(
        item=item,
        kind=_kind(line.kind or (item.kind if item else PriceBookItem.Kind.MATERIALS), field=f"{prefix}kind"),
        description=_text(description, field=f"{prefix}description", limit=200, missing="Describe this line."),
        quantity=line.quantity,
        unit_price=_price(unit_price, field=f"{prefix}unit_price"),
    )
    _as_engine_line(row.kind, row.description, row.quantity, row.unit_price, prefix=prefix)
    return row


def quote_template_save(
    *,
    business: User,
    name: str,
    lines: Sequence[TemplateLineInput],
    trade: Trade | None = None,
    active: bool = True,
    template: QuoteTemplate | None = None,
) -> QuoteTemplate:
    """Save a template with its lines in order (replacing the lines of ``template`` when changing one).

    Refused: not a tradesperson (403), someone else's template (404), a blank name, no lines or more than
    ``settings.PRICING["MAX_LINE_ITEMS"]`` (a quote option's own limit), an item from another business's price book, a line the pricing
    engine would refuse (400, ``field`` e.g. ``lines[1].unit_price``).
    """
    _check_business(business)
    if template is not None and template.business_id != business.pk:
        raise ServiceError("No such template.", code="not_found", kind=Refusal.NOT_FOUND)
    clean_name = _text(name, field="name", limit=120, missing="Give the template a name, e.g. Boiler service visit.")
    if not lines:
        raise _invalid("Add at least one line.", "no_lines", "lines")
    most = int(settings.PRICING["MAX_LINE_ITEMS"])
    if len(lines) > most:
        raise _invalid(f"A template has at most {most} lines.", "too_many_lines", "lines")
    rows = [_template_line(business, line, index) for index, line in enumerate(lines)]
    with transaction.atomic():
        if template is None:
            template = QuoteTemplate.objects.create(business=business, name=clean_name, trade=trade, active=active)
            action = "added"
        else:
            template = QuoteTemplate.objects.select_for_update().get(pk=template.pk)
            template.name, template.trade, template.active = clean_name, trade, active
            template.save()
            template.lines.all().delete()
            action = "changed"
        for position, row in enumerate(rows):
            row.template, row.position = template, position
        QuoteTemplateLine.objects.bulk_create(rows)
        _template_event(template, action, len(rows))
    return template


def quote_template_archive(*, template: QuoteTemplate, actor: User, active: bool = False) -> QuoteTemplate:
    """Archive a template (no longer offered in the builder) or restore it."""
    if template.business_id != actor.pk:
        raise ServiceError("No such template.", code="not_found", kind=Refusal.NOT_FOUND)
    with transaction.atomic():
        template.active = active
        template.save(update_fields=["active", "updated_at"])
        _template_event(template, "restored" if active else "archived", template.lines.count())
    return template


def _template_event(template: QuoteTemplate, action: str, line_count: int) -> None:
    data: ev.QuoteTemplateChangedV1 = {
        "business_id": template.business_id,
        "template_id": template.pk,
        "action": action,  # type: ignore[typeddict-item]  # one of the four, by the callers
        "name": template.name,
        "line_count": line_count,
        "active": template.active,
        "at": timezone.now().isoformat(),
    }
    emit(ev.QUOTE_TEMPLATE_CHANGED, aggregate_id=template.business_id, data=data, actor_id=template.business_id)
