"""The price a customer sees, shaped once for every place that shows it.

One rule (issue 19): the figure on a bid is what the customer will pay, VAT included. A bid with
several options shows "from" its cheapest option's total; once an option is accepted, the bid
shows what was accepted (promo included), never another option's figure struck through. Under
the figure: "incl. £X VAT", or "no VAT" for a trader who charges none.

The job page's bid headline, the quote fragment the page refetches live, the bid's stored
``amount`` (``bid_amount``, so the bid API, pushes, notifications and the timeline agree) and
the acceptance all come from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from marketplace.money import format_money


class Priced(Protocol):
    """Anything with a total and its VAT: a pricing ``Breakdown``, a ``QuoteOption``, a ``QuoteAcceptance``."""

    @property
    def total(self) -> Decimal: ...

    @property
    def tax(self) -> Decimal: ...


@dataclass(frozen=True)
class CustomerPrice:
    """What the customer pays (``total``, VAT included) and the VAT in it; ``several``: the cheapest of several options."""

    total: Decimal
    tax: Decimal
    several: bool = False

    @property
    def headline(self) -> str:
        """ "£118.20", or "from £118.20" for the cheapest of several options."""
        return ("from " if self.several else "") + format_money(self.total)

    @property
    def vat_note(self) -> str:
        """ "incl. £19.70 VAT", or "no VAT"."""
        return f"incl. {format_money(self.tax)} VAT" if self.tax else "no VAT"

    def as_json(self) -> dict[str, str | bool]:
        """For JSON and pushes: the figures as exact strings and the words to show."""
        return {
            "total": str(self.total),
            "tax": str(self.tax),
            "from": self.several,
            "headline": self.headline,
            "vat_note": self.vat_note,
        }


def cheapest(options: Sequence[Priced]) -> Priced:
    """The option with the lowest total (the first of equals). ``options`` must not be empty."""
    return min(options, key=lambda option: option.total)


def quote_price(options: Sequence[Priced]) -> CustomerPrice | None:
    """A quote's price before acceptance: its cheapest option's total ("from" when there are several); None for none."""
    if not options:
        return None
    best = cheapest(options)
    return CustomerPrice(best.total, best.tax, several=len(options) > 1)


def accepted_price(acceptance: Priced) -> CustomerPrice:
    """What the customer agreed to pay for the accepted option (its promo included)."""
    return CustomerPrice(acceptance.total, acceptance.tax)


def bid_amount(options: Sequence[Priced]) -> Decimal:
    """The bid's ``amount`` for a quote: the total of its cheapest option (what the bid headline shows)."""
    return cheapest(options).total
