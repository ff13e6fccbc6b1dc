"""What a directory search asks for, parsed once for the page and the API (so both refuse the same things the same way)."""

from __future__ import annotations

from dataclasses import dataclass

from jobs import places
from jobs.models import Trade
from marketplace.errors import Refusal, ServiceError

from .selectors import find_place


@dataclass(frozen=True)
class DirectoryQuery:
    trade: str = ""
    postcode: str = ""
    place: places.Place | None = None
    page: int = 1


def parse(*, trade: str = "", postcode: str = "", page: int | str = 1) -> DirectoryQuery:
    """A search from raw input; refuses an unknown trade (``unknown_trade``) or postcode (``unknown_postcode``)."""
    trade = trade.strip()
    if trade and not Trade.objects.filter(slug=trade).exists():
        raise ServiceError("Choose a trade from the list.", code="unknown_trade", kind=Refusal.INVALID, field="trade")
    postcode = " ".join(postcode.split())[:40]
    place = find_place(postcode) if postcode else None
    if postcode and place is None:
        raise ServiceError(
            "We don't know that postcode yet. Try its district (like N1 or SW11) or the name of the area.",
            code="unknown_postcode",
            kind=Refusal.INVALID,
            field="postcode",
        )
    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    return DirectoryQuery(trade=trade, postcode=postcode, place=place, page=number)
