"""The marketplace's commercial terms as the pricing engine takes them, read from settings.

``settings.PRICING`` holds the platform fee rate, the standard VAT rate, the deposit and the
limits; this module turns them into a :class:`quotes.pricing.PricingPolicy` and turns stored
quote rows back into pricing inputs, so every figure is always computed by ``pricing.price``.

VAT is the business's, not the platform's: a quote is priced with the rate its tradesperson
charges (:func:`business_tax_rate`: 0 when not VAT registered), and the version keeps that rate
(``QuoteVersion.tax_rate``) so accepting it later prices it exactly as it was shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from jobs.models import TradespersonProfile
from quotes.models import QuoteLine, QuoteOption, QuoteVersion
from quotes.pricing import Breakdown, Discount, LineItem, PricingPolicy, Promo, price


def policy(*, tax_rate: Decimal) -> PricingPolicy:
    """The marketplace's terms with the VAT rate of the business that quotes (:func:`business_tax_rate`)."""
    terms = settings.PRICING
    return PricingPolicy(
        platform_fee_rate=Decimal(terms["PLATFORM_FEE_RATE"]),
        tax_rate=tax_rate,
        deposit_kind="percent",
        deposit_value=Decimal(terms["DEPOSIT_PERCENT"]),
        max_line_items=int(terms["MAX_LINE_ITEMS"]),
        max_amount=Decimal(terms["MAX_AMOUNT"]),
    )


def business_tax_rate(tradesperson_id: int) -> Decimal:
    """The VAT rate a tradesperson's new quotes carry: their rate when VAT registered, else 0 (also with no profile)."""
    profile = TradespersonProfile.objects.filter(user_id=tradesperson_id).only("vat_registered", "vat_rate").first()
    return profile.charged_tax_rate if profile is not None else Decimal("0")


def version_tax_rate(version: QuoteVersion) -> Decimal:
    """The VAT rate a stored version was priced with (versions from before per-business VAT: the standard rate)."""
    return version.tax_rate if version.tax_rate is not None else Decimal(settings.PRICING["TAX_RATE"])


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
    version = option.version
    return price(
        line_items(option.lines.all()), policy=policy(tax_rate=version_tax_rate(version)), discount=version_discount(version), promo=promo
    )
