"""Places and postcode districts shipped with the project (no geocoding service, works offline).

A customer or tradesperson picks a place, or types coordinates; either way we store
latitude/longitude.  The list covers London's postcode districts and nearby towns.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "places.csv"


@dataclass(frozen=True)
class Place:
    name: str
    postcode: str
    latitude: Decimal
    longitude: Decimal

    @property
    def label(self) -> str:
        return f"{self.name} {self.postcode}"


@cache
def all_places() -> tuple[Place, ...]:
    with DATA.open(newline="") as handle:
        return tuple(
            Place(row["name"], row["postcode"], Decimal(row["latitude"]), Decimal(row["longitude"])) for row in csv.DictReader(handle)
        )


def search(query: str, limit: int = 10) -> list[Place]:
    q = query.strip().lower()
    if not q:
        return list(all_places()[:limit])
    starts = [p for p in all_places() if p.name.lower().startswith(q) or p.postcode.lower().startswith(q)]
    contains = [p for p in all_places() if p not in starts and (q in p.name.lower() or q in p.postcode.lower())]
    return (starts + contains)[:limit]


def by_label(label: str) -> Place | None:
    """Find a place by its label ("Islington N1"), its postcode ("N1") or its name."""
    wanted = label.strip().lower()
    for place in all_places():
        if wanted in (place.label.lower(), place.postcode.lower(), place.name.lower()):
            return place
    return None
