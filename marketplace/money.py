"""Money: pounds with pence as ``Decimal`` (never float), in the database and in the shares the platform keeps.

Shown to people only through :func:`format_money` (templates: the ``money`` filter, a builtin; JS:
``TL.money``, which reads the same currency and locale from ``<body data-currency data-locale>``), so the
currency symbol comes from ``settings.PRICING["CURRENCY"]`` and never from code.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Any

from babel import Locale
from babel.numbers import format_currency, get_currency_symbol
from django.conf import settings
from django.db import models


def money_field(**options: Any) -> models.DecimalField[Decimal, Decimal]:
    """Pounds with pence: 12 digits, 2 places (up to £9,999,999,999.99)."""
    return models.DecimalField(max_digits=12, decimal_places=2, **options)


PENNY = Decimal("0.01")
# The largest amount any price or payment may be: keeps every product well inside the context's precision.
AMOUNT_CEILING = Decimal(1_000_000_000_000)
_ROUNDING = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])


def share_of(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount x part / whole``, rounded half up once: e.g. the platform's share of a cancellation fee or a refund.

    The marketplace keeps the same share of any amount taken or given back as it keeps of the
    whole quote (``platform_fee / total``). Never more than ``amount``; zero when ``whole`` is zero.
    Each argument is a non-negative ``Decimal`` with at most two places (``TypeError``/``ValueError`` otherwise).
    """
    for value, name in ((amount, "amount"), (part, "part"), (whole, "whole")):
        if isinstance(value, bool) or not isinstance(value, Decimal):
            raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}.")
        if not value.is_finite() or value < 0 or value != value.quantize(PENNY, context=_ROUNDING):
            raise ValueError(f"{name} is {value}; it must be pounds and pence, not negative.")
    if whole == 0:
        return Decimal("0.00")
    with localcontext(_ROUNDING):
        return min((amount * part / whole).quantize(PENNY), amount.quantize(PENNY))


def currency() -> str:
    """The marketplace's currency code (ISO 4217, ``settings.PRICING["CURRENCY"]``): "GBP" by default."""
    return str(settings.PRICING["CURRENCY"])


def money_locale() -> str:
    """The locale amounts are written in (``settings.PRICING["LOCALE"]``, e.g. "en_GB"): separators, symbol position."""
    return str(settings.PRICING.get("LOCALE") or "en_GB")


def format_money(amount: Decimal | int | str | None, *, whole: bool = False, blank: str = "") -> str:
    """``amount`` as a person reads it in the marketplace's currency: "£1,234.50", "-£3.00", "1.234,50 €".

    ``whole``: drop ".00" from a whole amount ("£90", for budgets); pence are always shown otherwise.
    ``None``, "" or a value that is not a number gives ``blank``. Never raises: it is for text shown to people.
    """
    if amount is None or amount == "" or isinstance(amount, bool):
        return blank
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return blank
    if not value.is_finite():
        return blank
    if whole and value == value.to_integral_value():
        # The locale's own currency pattern (symbol before or after), without its decimals.
        pattern = Locale.parse(money_locale()).currency_formats["standard"].pattern.replace(".00", "")
        return format_currency(value, currency(), format=pattern, locale=money_locale(), currency_digits=False)
    return format_currency(value, currency(), locale=money_locale())


def currency_symbol() -> str:
    """The currency's symbol in the marketplace's locale ("£", "€"), for labels such as "Unit price (£)"."""
    return str(get_currency_symbol(currency(), locale=money_locale()))
