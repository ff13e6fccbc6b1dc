"""The pricing engine: every money figure of a quote comes from :func:`price`, and nowhere else.

Pure Python (no models, no database): itemised lines, discounts, a promo code and the
marketplace policy go in; a :class:`Breakdown` comes out, and :func:`diff` tells a customer
what changed between two versions of a quote.

Money is ``Decimal`` pounds. Input amounts have at most two decimal places (sub-penny input is
refused, as in ``jobs.services.money``); floats are refused with ``TypeError``. Quantities may
have two decimal places too (1.5 hours). Percentages (discounts, promos, deposits) are 0..100
with at most two decimal places; the tax and platform-fee rates are fractions 0..1 (0.20 is
20 % VAT) with at most four.

Rounding rule
-------------
Every figure is rounded to the penny with ROUND_HALF_UP exactly once, at the point it is
computed: each line is quantity x unit price, rounded; each percentage figure (a percent
discount, a percent promo, tax, platform fee, a percent deposit) is rounded; sums and
differences of already-rounded figures are exact and are never rounded again. Nothing is
computed from an unrounded intermediate. The figures are computed in this order:

1. lines: each ``quantity x unit_price``, rounded;
2. subtotal: the sum of the non-discount lines;
3. line discounts: the sum of the discount lines, capped at the subtotal;
4. quote discount, percent or fixed, on ``subtotal - line discounts`` (capped at that);
5. promo, percent or fixed, on what remains (capped at that); it applies only when what
   remains is at least its minimum spend;
6. net = subtotal - line discounts - quote discount - promo (never below zero);
7. tax on net;
8. total = net + tax;
9. the fee charged (the marketplace's margin; tax passes through to the tradesperson) on
   the tradesperson's base: net, or, when the promo is funded by the platform, net + promo
   (what the work earns before the platform's promo);
10. payout = that base - fee charged (what the tradesperson receives, before tax);
11. platform fee = fee charged - the promo if the platform funds it (the platform's revenue:
    it pays its promo from its fee and beyond, so this one may be negative);
12. deposit on total, percent or fixed, capped at the total;
13. balance = total - deposit.

Who funds the promo (``Promo.funded_by``): ``"platform"`` (a marketplace campaign) leaves the
tradesperson's payout exactly what it would be without the code; ``"business"`` (a code the
tradesperson's business issued for its own quotes) comes off the net the fee and payout are
computed on, as any discount does.

So, exactly and always: ``total == net + tax``, ``payout + platform_fee == net``,
``fee_charged - platform_fee == platform_promo`` (the part of the promo the platform pays),
``deposit + balance == total``, no figure is negative except ``platform_fee`` under a
platform-funded promo, and every figure has exactly two decimal places (exponent -2).
Arithmetic runs in a private decimal context, so a caller's ``decimal.getcontext()``
settings cannot change a result; an inexact intermediate (impossible within the input limits)
raises ``decimal.Inexact`` rather than pass silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from typing import Literal, get_args

from marketplace.money import AMOUNT_CEILING, format_money

LineKind = Literal["labour", "materials", "callout", "other", "discount"]
AdjustmentKind = Literal["percent", "fixed"]
PromoFunder = Literal["platform", "business"]
PricingErrorCode = Literal[
    "not_finite",
    "invalid_kind",
    "missing_text",
    "bad_quantity",
    "quantity_too_large",
    "negative_price",
    "sub_penny",
    "too_precise",
    "percent_out_of_range",
    "rate_out_of_range",
    "negative_value",
    "amount_too_large",
    "too_many_lines",
    "no_chargeable_line",
    "invalid_policy",
]
ChangeKind = Literal["line_added", "line_removed", "line_changed", "figure_changed"]

LINE_KINDS: frozenset[str] = frozenset(get_args(LineKind))
ADJUSTMENT_KINDS: frozenset[str] = frozenset(get_args(AdjustmentKind))
PROMO_FUNDERS: frozenset[str] = frozenset(get_args(PromoFunder))
PENNY = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_QUANTITY = Decimal(1_000_000)

# Products and sums of bounded inputs are exact at this precision; Inexact is trapped to prove it.
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
# The one place rounding happens: quantize to the penny, half up.
_ROUNDING = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])


class PricingError(ValueError):
    """Bad pricing input. ``code`` is stable (for API errors and tests); ``field`` names the input."""

    def __init__(self, code: PricingErrorCode, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code: PricingErrorCode = code
        self.message = message
        self.field = field


# --- input checks --------------------------------------------------------------------------


def _decimal_places(value: Decimal) -> int:
    """Decimal places that matter (trailing zeros ignored), read from the digits so that no context can round them."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # the caller has checked the value is finite
    if not any(digits):
        return 0
    places = -exponent
    for digit in reversed(digits):
        if places <= 0 or digit != 0:
            break
        places -= 1
    return max(places, 0)


def _check_decimal(value: object, field: str, label: str = "") -> Decimal:
    """``field`` names the input for machines (``PricingError.field``); ``label`` for people, if it differs."""
    label = label or field
    if isinstance(value, float):
        raise TypeError(f"{label} is a float ({value!r}); floats cannot hold pence exactly. Pass a Decimal, e.g. Decimal('{value}').")
    if not isinstance(value, Decimal):
        raise TypeError(f"{label} must be a Decimal, not {type(value).__name__} ({value!r}).")
    if not value.is_finite():
        raise PricingError("not_finite", f"{label} must be a finite number, not {value}.", field=field)
    return value


def _check_money(value: object, field: str, label: str = "") -> Decimal:
    amount = _check_decimal(value, field, label)
    if _decimal_places(amount) > 2:
        raise PricingError(
            "sub_penny", f"{label or field} is {amount}: amounts are in pounds and pence, at most two decimal places.", field=field
        )
    return amount


def _check_kind(value: object, allowed: frozenset[str], field: str) -> None:
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(sorted(allowed))
        raise PricingError("invalid_kind", f"{field} is {value!r}; use one of: {choices}.", field=field)


def _check_text(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string, not {type(value).__name__}.")
    if not value.strip():
        raise PricingError("missing_text", f"{field} is empty; give it a short name the customer will recognise.", field=field)


def _check_adjustment(kind: object, value: object, field: str) -> None:
    """A percent (0..100, two decimal places) or a fixed amount (pounds and pence, not negative)."""
    _check_kind(kind, ADJUSTMENT_KINDS, f"{field}.kind")
    field = f"{field}.value"
    if kind == "percent":
        percent = _check_decimal(value, field)
        if not 0 <= percent <= HUNDRED:
            raise PricingError("percent_out_of_range", f"{field} is {percent}%; a percentage must be between 0 and 100.", field=field)
        if _decimal_places(percent) > 2:
            raise PricingError("too_precise", f"{field} is {percent}%; use at most two decimal places.", field=field)
    else:
        amount = _check_money(value, field)
        if amount < 0:
            raise PricingError("negative_value", f"{field} is {amount}; a fixed amount cannot be negative.", field=field)


def _check_rate(value: object, field: str) -> None:
    rate = _check_decimal(value, field)
    if not 0 <= rate <= 1:
        raise PricingError("rate_out_of_range", f"{field} is {rate}; give it as a fraction between 0 and 1 (0.20 is 20 %).", field=field)
    if _decimal_places(rate) > 4:
        raise PricingError("too_precise", f"{field} is {rate}; use at most four decimal places.", field=field)


# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of a quote: ``quantity x unit_price``. Labour is hours x hourly rate.

    A ``discount`` line has a positive unit price and takes its amount off the quote;
    no input price is ever negative.
    """

    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal

    def __post_init__(self) -> None:
        _check_kind(self.kind, LINE_KINDS, "kind")
        _check_text(self.description, "description")
        where = f"Line {self.description!r}"
        quantity = _check_decimal(self.quantity, "quantity", f"{where} quantity")
        if quantity <= 0:
            raise PricingError(
                "bad_quantity", f"{where} has quantity {quantity}; it must be more than zero (remove the line instead).", field="quantity"
            )
        if quantity > MAX_QUANTITY:
            raise PricingError(
                "quantity_too_large", f"{where} has quantity {quantity}; the most a line may have is {MAX_QUANTITY:,}.", field="quantity"
            )
        if _decimal_places(quantity) > 2:
            raise PricingError(
                "too_precise", f"{where} has quantity {quantity}; use at most two decimal places (1.5 hours).", field="quantity"
            )
        unit_price = _check_money(self.unit_price, "unit_price", f"{where} unit price")
        if unit_price < 0:
            raise PricingError(
                "negative_price",
                f"{where} has unit price {unit_price}; prices cannot be negative. Use a 'discount' line with a positive price.",
                field="unit_price",
            )


@dataclass(frozen=True, slots=True)
class Discount:
    """A quote-level discount: a percentage (0..100) or a fixed amount off."""

    kind: AdjustmentKind
    value: Decimal

    def __post_init__(self) -> None:
        _check_adjustment(self.kind, self.value, "discount")


@dataclass(frozen=True, slots=True)
class Promo:
    """A promo code: a percentage or a fixed amount off, if what remains after discounts is at least ``min_spend``.

    ``funded_by`` says who pays the discount: the platform (its fee absorbs it; the payout is
    untouched) or the tradesperson's business (it comes off the net, as a discount does).
    """

    code: str
    kind: AdjustmentKind
    value: Decimal
    min_spend: Decimal = Decimal("0.00")
    funded_by: PromoFunder = "platform"

    def __post_init__(self) -> None:
        _check_text(self.code, "promo.code")
        _check_kind(self.funded_by, PROMO_FUNDERS, "promo.funded_by")
        _check_adjustment(self.kind, self.value, "promo")
        if _check_money(self.min_spend, "promo.min_spend") < 0:
            raise PricingError("negative_value", f"promo.min_spend is {self.min_spend}; it cannot be negative.", field="promo.min_spend")


@dataclass(frozen=True, slots=True)
class PricingPolicy:
    """The marketplace's terms: rates are fractions (0.10 = 10 %); a percent deposit is 0..100."""

    platform_fee_rate: Decimal
    tax_rate: Decimal
    deposit_kind: AdjustmentKind
    deposit_value: Decimal
    max_line_items: int = 50
    max_amount: Decimal = Decimal(1_000_000)

    def __post_init__(self) -> None:
        _check_rate(self.platform_fee_rate, "policy.platform_fee_rate")
        _check_rate(self.tax_rate, "policy.tax_rate")
        _check_adjustment(self.deposit_kind, self.deposit_value, "policy.deposit")
        if isinstance(self.max_line_items, bool) or not isinstance(self.max_line_items, int):
            raise TypeError(f"policy.max_line_items must be an int, not {type(self.max_line_items).__name__}.")
        if self.max_line_items < 1:
            raise PricingError("invalid_policy", "policy.max_line_items must be at least 1.", field="policy.max_line_items")
        max_amount = _check_money(self.max_amount, "policy.max_amount")
        if not 0 < max_amount <= AMOUNT_CEILING:
            raise PricingError(
                "invalid_policy", f"policy.max_amount must be more than 0 and at most {AMOUNT_CEILING:,}.", field="policy.max_amount"
            )


# --- outputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line as quoted: its inputs (with exactly two places) and its rounded amount (a discount line's is positive and taken off)."""

    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Every figure of a priced quote, each in pounds with exactly two decimal places (see the module docstring)."""

    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    line_discounts: Decimal
    discount_amount: Decimal
    promo_amount: Decimal
    discounts_total: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    platform_fee: Decimal
    payout: Decimal
    deposit: Decimal
    balance: Decimal
    promo_applied: bool
    promo_reason: str
    # Who paid the promo ("" when none applied), the part the platform pays, and the fee the tradesperson is charged.
    promo_funded_by: str = ""
    platform_promo: Decimal = Decimal("0.00")
    fee_charged: Decimal = Decimal("0.00")


def _round(value: Decimal) -> Decimal:
    """Round to the penny, half up: the only rounding in this module."""
    return value.quantize(PENNY, context=_ROUNDING)


def _two_places(value: Decimal) -> Decimal:
    """Write a value that has at most two places with exactly two. Not a rounding: Inexact is trapped."""
    return value.quantize(PENNY, context=_EXACT)


def _percent_of(base: Decimal, percent: Decimal) -> Decimal:
    return _round(base * percent / HUNDRED)


def _adjustment(kind: AdjustmentKind, value: Decimal, base: Decimal) -> Decimal:
    """A percent or fixed amount of ``base``, never more than ``base``."""
    if kind == "percent":
        return min(_percent_of(base, value), base)
    return _two_places(min(value, base))


def _pounds(amount: Decimal) -> str:
    return format_money(amount)


def price(
    items: Iterable[LineItem],
    *,
    policy: PricingPolicy,
    discount: Discount | None = None,
    promo: Promo | None = None,
) -> Breakdown:
    """Price a quote. Pure and deterministic: the same inputs give the same breakdown, and line order changes only ``lines``.

    Raises :class:`PricingError` for too many lines, a line or total over ``policy.max_amount``,
    or no chargeable line (a non-discount line worth at least a penny).
    """
    items = tuple(items)
    for index, item in enumerate(items):
        if not isinstance(item, LineItem):
            raise TypeError(f"items[{index}] must be a LineItem, not {type(item).__name__}.")
    if len(items) > policy.max_line_items:
        raise PricingError(
            "too_many_lines",
            f"A quote has at most {policy.max_line_items} lines; this one has {len(items)}. Combine similar lines.",
            field="items",
        )
    limit = policy.max_amount
    with localcontext(_EXACT):
        for index, item in enumerate(items):
            if item.unit_price > limit:
                raise PricingError(
                    "amount_too_large",
                    f"Line {item.description!r} has unit price {_pounds(item.unit_price)}; the most is {_pounds(limit)}.",
                    field=f"items[{index}].unit_price",
                )
        lines = tuple(
            PricedLine(i.kind, i.description, _two_places(i.quantity), _two_places(i.unit_price), _round(i.quantity * i.unit_price))
            for i in items
        )
        for index, line in enumerate(lines):
            if line.amount > limit:
                raise PricingError(
                    "amount_too_large",
                    f"Line {line.description!r} comes to {_pounds(line.amount)}; a line may be at most {_pounds(limit)}. "
                    "Check the quantity and price.",
                    field=f"items[{index}]",
                )
        if not any(line.kind != "discount" and line.amount > 0 for line in lines):
            raise PricingError(
                "no_chargeable_line", "A quote needs at least one line that charges something (not only discounts).", field="items"
            )

        subtotal = sum((line.amount for line in lines if line.kind != "discount"), start=Decimal("0.00"))
        if subtotal > limit:
            raise PricingError(
                "amount_too_large", f"The subtotal is {_pounds(subtotal)}; a quote may be at most {_pounds(limit)}.", field="items"
            )
        line_discounts = min(sum((line.amount for line in lines if line.kind == "discount"), start=Decimal("0.00")), subtotal)
        remaining = subtotal - line_discounts
        discount_amount = _adjustment(discount.kind, discount.value, remaining) if discount else Decimal("0.00")
        remaining -= discount_amount

        promo_amount, promo_applied, promo_reason = Decimal("0.00"), False, ""
        if promo is not None:
            if remaining >= promo.min_spend:
                promo_amount, promo_applied = _adjustment(promo.kind, promo.value, remaining), True
            else:
                promo_reason = (
                    f"Code {promo.code} needs a spend of at least {_pounds(promo.min_spend)} after discounts; "
                    f"this quote comes to {_pounds(remaining)}."
                )
        net = remaining - promo_amount
        tax = _round(net * policy.tax_rate)
        total = net + tax
        if total > limit:
            raise PricingError(
                "amount_too_large", f"The total is {_pounds(total)}; a quote may be at most {_pounds(limit)}.", field="items"
            )
        platform_promo = promo_amount if promo is not None and promo_applied and promo.funded_by == "platform" else Decimal("0.00")
        earned = net + platform_promo  # what the tradesperson's work earns: a platform promo does not touch it
        fee_charged = _round(earned * policy.platform_fee_rate)
        deposit = _adjustment(policy.deposit_kind, policy.deposit_value, total)
        return Breakdown(
            lines=lines,
            subtotal=subtotal,
            line_discounts=line_discounts,
            discount_amount=discount_amount,
            promo_amount=promo_amount,
            discounts_total=line_discounts + discount_amount + promo_amount,
            net=net,
            tax=tax,
            total=total,
            platform_fee=fee_charged - platform_promo,
            payout=earned - fee_charged,
            deposit=deposit,
            balance=total - deposit,
            promo_applied=promo_applied,
            promo_reason=promo_reason,
            promo_funded_by=promo.funded_by if promo is not None and promo_applied else "",
            platform_promo=platform_promo,
            fee_charged=fee_charged,
        )


# --- revisions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions of a quote, as the customer sees it.

    ``subject`` is the line's description or the figure's name; ``old`` / ``new`` are amounts
    (``None`` for the side where a line does not exist); ``summary`` is one sentence to show.
    """

    kind: ChangeKind
    subject: str
    old: Decimal | None
    new: Decimal | None
    summary: str


# Figures a customer sees; the platform fee and payout are between the marketplace and the tradesperson.
CUSTOMER_FIGURES: tuple[str, ...] = (
    "subtotal",
    "line_discounts",
    "discount_amount",
    "promo_amount",
    "net",
    "tax",
    "total",
    "deposit",
    "balance",
)
_FIGURE_LABELS = {
    "subtotal": "Subtotal",
    "line_discounts": "Line discounts",
    "discount_amount": "Discount",
    "promo_amount": "Promo",
    "net": "Net",
    "tax": "Tax",
    "total": "Total",
    "deposit": "Deposit",
    "balance": "Balance",
}


def _line_key(lines: tuple[PricedLine, ...]) -> dict[tuple[str, str, int], PricedLine]:
    """Lines keyed by (kind, description, n): the n-th line with the same kind and description."""
    seen: Counter[tuple[str, str]] = Counter()
    keyed: dict[tuple[str, str, int], PricedLine] = {}
    for line in lines:
        seen[line.kind, line.description] += 1
        keyed[line.kind, line.description, seen[line.kind, line.description]] = line
    return keyed


def _describe(line: PricedLine) -> str:
    quantity = format(line.quantity.normalize(_EXACT), "f")
    sign = "-" if line.kind == "discount" else ""
    return f"{quantity} × {_pounds(line.unit_price)} = {sign}{_pounds(line.amount)}"


def diff(old: Breakdown, new: Breakdown) -> list[Change]:
    """What changed from ``old`` to ``new``: lines changed or added (in new order), lines removed (in old order), then figures.

    Lines are matched by kind and description (the n-th duplicate with the n-th). A line counts
    as changed if its quantity, unit price or amount changed. Only customer-facing figures are
    compared (:data:`CUSTOMER_FIGURES`). Identical quotes give an empty list.
    """
    before, after = _line_key(old.lines), _line_key(new.lines)
    changes: list[Change] = []
    for key, line in after.items():
        was = before.get(key)
        if was is None:
            changes.append(Change("line_added", line.description, None, line.amount, f"Added {line.description}: {_describe(line)}."))
        elif (was.quantity, was.unit_price, was.amount) != (line.quantity, line.unit_price, line.amount):
            changes.append(
                Change(
                    "line_changed",
                    line.description,
                    was.amount,
                    line.amount,
                    f"Changed {line.description}: {_describe(was)} → {_describe(line)}.",
                )
            )
    for key, line in before.items():
        if key not in after:
            changes.append(Change("line_removed", line.description, line.amount, None, f"Removed {line.description}: {_describe(line)}."))
    for name in CUSTOMER_FIGURES:
        was_amount, amount = getattr(old, name), getattr(new, name)
        if was_amount != amount:
            delta = amount - was_amount
            label = _FIGURE_LABELS[name]
            direction = "up" if delta > 0 else "down"
            summary = f"{label}: {_pounds(was_amount)} → {_pounds(amount)} ({direction} {_pounds(abs(delta))})."
            changes.append(Change("figure_changed", name, was_amount, amount, summary))
    return changes


# --- shares ----------------------------------------------------------------------------------
