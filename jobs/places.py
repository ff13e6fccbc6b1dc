"""Where a job is, or where a tradesperson works from: a UK postcode district and its coordinates.

A place is a postcode district (outward code: "EH1", "SW1A", "BT7", "CF10") with the
coordinates of its middle, labelled "Edinburgh EH1" (the postcode area's name, then the
district).  55 London and home-counties districts carry their own names and coordinates
from ``data/places.csv`` ("Islington N1"), as they always did.  A job stores the label
and the coordinates, never a full postcode or address: a full postcode ("SW1A 1AA") is
accepted as input and cut to its district.

Lookups go through a geocoder chosen by ``settings.GEOCODER`` (a dotted path):

* ``jobs.places.OfflineGeocoder`` (default): the packaged open data in ``data/``
  (ONS Postcode Lookup, Open Government Licence: see ``data/LICENCE-postcode-districts.txt``),
  loaded once per process; nothing is fetched at run time.
* ``jobs.places.PostcodesIoGeocoder``: asks a postcodes.io-compatible service
  (``settings.GEOCODER_URL`` + ``/outcodes/<code>``) for districts it does not know
  offline or for fresher coordinates, with a short timeout, falling back to the offline
  data on any failure.  It never calls out inside a database transaction (it answers
  from the offline data there).  Autocomplete (``search``) is always offline.

Public functions (stable; other apps use them): ``outward_code``, ``lookup``, ``by_label``,
``search``, ``all_places``, ``geocoder``; the type is ``Place``.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DATA = DATA_DIR / "places.csv"  # the named places
DISTRICTS = DATA_DIR / "postcode_districts.csv"
AREAS = DATA_DIR / "postcode_areas.csv"

_OUTWARD = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?")
_INWARD = re.compile(r"[0-9][A-Z]{2}")
_SORT_KEY = re.compile(r"([A-Z]*)([0-9]*)(.*)")
_EXACT = Decimal("0.00001")


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    postcode: str  # the district (outward code), or for a few named places a postcode area such as "EC2"
    latitude: Decimal
    longitude: Decimal

    @property
    def label(self) -> str:
        return f"{self.name} {self.postcode}"


def outward_code(text: str) -> str | None:
    """The district of a full postcode or district ("sw1a 1aa", "SW1A1AA", "eh1" -> "SW1A", "SW1A", "EH1"), else None."""
    compact = re.sub(r"\s+", "", text).upper()
    if len(compact) >= 5 and _INWARD.fullmatch(compact[-3:]) and _OUTWARD.fullmatch(compact[:-3]):
        return compact[:-3]
    return compact if _OUTWARD.fullmatch(compact) else None


def _district_key(code: str) -> tuple[str, int, str]:
    """Natural order: EH1, EH2, EH10 (not EH1, EH10, EH2)."""
    match = _SORT_KEY.match(code)
    assert match is not None  # the pattern matches any string
    letters, digits, rest = match.groups()
    return letters, int(digits or 0), rest


# --- the offline data ----------------------------------------------------------------------


@cache
def _named() -> tuple[Place, ...]:
    with DATA.open(newline="") as handle:
        return tuple(
            Place(row["name"], row["postcode"], Decimal(row["latitude"]), Decimal(row["longitude"])) for row in csv.DictReader(handle)
        )


@cache
def _area_names() -> dict[str, str]:
    with AREAS.open(newline="") as handle:
        return {row["area"]: row["name"] for row in csv.DictReader(handle)}


def _area_name(code: str) -> str:
    match = _SORT_KEY.match(code)
    assert match is not None
    return _area_names().get(match.group(1), match.group(1))


@cache
def all_places() -> tuple[Place, ...]:
    """Every place: the named ones first (in their file's order), then every other district in natural order."""
    named = _named()
    taken = {p.postcode for p in named}
    with DISTRICTS.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["outward_code"] not in taken]
    rows.sort(key=lambda row: _district_key(row["outward_code"]))
    districts = (
        Place(_area_name(row["outward_code"]), row["outward_code"], Decimal(row["latitude"]), Decimal(row["longitude"])) for row in rows
    )
    return (*named, *districts)


@cache
def _by_code() -> dict[str, Place]:
    return {p.postcode: p for p in reversed(all_places())}  # reversed: a named place wins over a district of the same code


@cache
def _by_text() -> dict[str, Place]:
    """Labels ("islington n1", "edinburgh eh1") and the names of the named places ("islington")."""
    index: dict[str, Place] = {}
    for place in reversed(all_places()):
        index[place.label.lower()] = place
    for place in reversed(_named()):
        index[place.name.lower()] = place
    return index


# --- geocoders -----------------------------------------------------------------------------


class Geocoder(Protocol):
    def lookup(self, outward_code: str) -> Place | None: ...

    def search(self, prefix: str, limit: int = 10) -> list[Place]: ...


class OfflineGeocoder:
    """The packaged data; no network."""

    def lookup(self, outward_code: str) -> Place | None:
        return _by_code().get(outward_code.strip().upper())

    def search(self, prefix: str, limit: int = 10) -> list[Place]:
        q = " ".join(prefix.split()).lower()
        if not q:
            return list(all_places()[:limit])
        compact = q.replace(" ", "").upper()
        tokens = q.upper().split()
        partial = len(tokens) == 2 and _OUTWARD.fullmatch(tokens[0]) and re.fullmatch(r"[0-9][A-Z]{0,2}", tokens[1])
        code = tokens[0] if partial else outward_code(q)
        if code is not None and code != compact:  # a full postcode, or one being typed: its district only
            place = self.lookup(code)
            return [place] if place else []
        by_code = sorted((p for p in all_places() if p.postcode.startswith(compact)), key=lambda p: _district_key(p.postcode))
        seen = set(by_code)
        by_name = [p for p in all_places() if p not in seen and (p.name.lower().startswith(q) or p.label.lower().startswith(q))]
        seen.update(by_name)
        enough = len(by_code) + len(by_name) >= limit
        contains = [] if enough else [p for p in all_places() if p not in seen and q in p.label.lower()]
        return (by_code + by_name + contains)[:limit]


class PostcodesIoGeocoder(OfflineGeocoder):
    """A postcodes.io-compatible service for lookups, the offline data when it fails; search stays offline.

    Settings: ``GEOCODER_URL`` (e.g. ``https://api.postcodes.io``), ``GEOCODER_TIMEOUT_S``.
    A named place ("Islington N1") keeps its name; the service gives the coordinates.
    """

    def lookup(self, outward_code: str) -> Place | None:
        code = outward_code.strip().upper()
        offline = super().lookup(code)
        if connection.in_atomic_block:  # no remote call inside a database transaction
            return offline
        try:
            found = self._fetch(code)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # URLError and timeouts are OSErrors; bad JSON is a ValueError
            log.warning("geocoder: %s for %s failed (%s); using the offline data", settings.GEOCODER_URL, code, exc.__class__.__name__)
            return offline
        if found is None:
            return offline
        latitude, longitude = found
        name = offline.name if offline else _area_name(code)
        return Place(name, code, latitude, longitude)

    def _fetch(self, code: str) -> tuple[Decimal, Decimal] | None:
        base = settings.GEOCODER_URL.rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ValueError("GEOCODER_URL must be an http(s) URL")
        url = f"{base}/outcodes/{urllib.parse.quote(code)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - http(s) only (checked above)
        try:
            with urllib.request.urlopen(request, timeout=settings.GEOCODER_TIMEOUT_S) as response:  # noqa: S310
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None  # the service does not know it either
            raise
        result = body["result"]
        if result is None or result.get("latitude") is None or result.get("longitude") is None:
            return None
        return Decimal(str(result["latitude"])).quantize(_EXACT), Decimal(str(result["longitude"])).quantize(_EXACT)


@cache
def geocoder() -> Geocoder:
    """The configured geocoder (``settings.GEOCODER``), made once per process."""
    factory = import_string(settings.GEOCODER)
    instance: Geocoder = factory()
    return instance


@receiver(setting_changed)
def _forget_geocoder(*, setting: str, **_: object) -> None:
    if setting == "GEOCODER":
        geocoder.cache_clear()


# --- what the rest of the project calls ----------------------------------------------------


def lookup(text: str) -> Place | None:
    """The place for a full postcode or a district ("EH1 1AA", "EH1"), through the configured geocoder."""
    code = outward_code(text)
    return geocoder().lookup(code) if code else None


def search(query: str, limit: int = 10) -> list[Place]:
    """Places for an autocomplete: districts starting with the query, then names starting with it, then names containing it."""
    return geocoder().search(query, limit)


def by_label(label: str) -> Place | None:
    """A place from what a person typed: a label ("Islington N1", "Edinburgh EH1"), a name ("Islington"),
    a district ("N1", "EH1") or a full postcode ("EH1 1AA", cut to its district)."""
    text = " ".join(label.split())
    if not text:
        return None
    known = _by_text().get(text.lower())
    if known is None and " " in text:  # "London N1", "edinburgh eh1": a district after its area's or its own name
        name, _, last = text.rpartition(" ")
        district = _by_code().get(last.upper())
        if district is not None and name.lower() in (district.name.lower(), _area_name(district.postcode).lower()):
            known = district
    if known is not None:
        return lookup(known.postcode) if outward_code(known.postcode) else known
    return lookup(text)
