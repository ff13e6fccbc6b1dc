"""The marketplace's commercial terms as the pricing engine takes them, read from settings.

``settings.PRICING`` holds the platform fee rate, the tax rate, the deposit and the limits;
this module turns them into a :class:`quotes.pricing.PricingPolicy` and turns stored quote
rows back into pricing inputs, so every figure is always computed by ``pricing.price``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from quotes.models import QuoteLine, QuoteOption, QuoteVersion
from quotes.pricing import Breakdown, Discount, LineItem, PricingPolicy, Promo, price


def policy() -> PricingPolicy:
    terms = settings.PRICING
    return PricingPolicy(
        platform_fee_rate=Decimal(terms["PLATFORM_FEE_RATE"]),
        tax_rate=Decimal(terms["TAX_RATE"]),
        deposit_kind="percent",
        deposit_value=Decimal(terms["DEPOSIT_PERCENT"]),
        max_line_items=int(terms["MAX_LINE_ITEMS"]),
        max_amount=Decimal(terms["MAX_AMOUNT"]),
    )


def currency() -> str:
    return str(settings.PRICING["CURRENCY"])


def default_valid_until(today: date | None = None) -> date:
    return (today or timezone.localdate()) + timedelta(days=int(settings.PRICING["QUOTE_VALID_DAYS"]))


def version_discount(version: QuoteVersion) -> Discount | None:
    if not version.discount_kind:
        return None
    return Discount(kind=version.discount_kind, value=version.discount_value)  # type: ignore[arg-type]


def line_items(lines: Iterable[QuoteLine]) -> list[LineItem]:
    return [LineItem(line.kind, line.description, line.quantity, line.unit_price) for line in lines]  # type: ignore[arg-type]


def option_breakdown(option: QuoteOption, *, promo: Promo | None = None) -> Breakdown:
    """Price a stored option again (with a promo, on acceptance). Same inputs, same figures."""
    return price(line_items(option.lines.all()), policy=policy(), discount=version_discount(option.version), promo=promo)
