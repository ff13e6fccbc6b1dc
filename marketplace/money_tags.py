"""Template builtins for money (registered in ``TEMPLATES["OPTIONS"]["builtins"]``): no ``{% load %}`` needed.

``{{ amount|money }}`` writes an amount in the marketplace's currency ("£1,234.50");
``{{ amount|money:"whole" }}`` drops ".00" from a whole amount ("£90"). ``{% money_currency %}`` and
``{% money_locale %}`` give ``base.html`` what the browser's ``Intl.NumberFormat`` needs.
"""

from __future__ import annotations

from decimal import Decimal

from django import template

from marketplace import money as _money

register = template.Library()


@register.filter(name="money")
def money_filter(amount: Decimal | int | str | None, arg: str = "") -> str:
    return _money.format_money(amount, whole=arg == "whole", blank="")


@register.simple_tag
def money_currency() -> str:
    return _money.currency()


@register.simple_tag
def money_locale() -> str:
    # BCP 47 for the browser ("en-GB"), from Babel's "en_GB".
    return _money.money_locale().replace("_", "-")


@register.simple_tag
def money_symbol() -> str:
    """The currency's symbol for labels ("Unit price (£)")."""
    return _money.currency_symbol()
