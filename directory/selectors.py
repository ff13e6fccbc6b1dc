"""The pro directory's reads: who works in a trade and covers a postcode, ranked (``directory/ranking.py``).

A search is a constant number of queries whatever the page size: one for the candidates (trade, service
area, rating, response time and badge count, all in SQL), then, for the page shown, one for the profiles
with their trades and one for their badges. Ranking happens in Python over the candidates, which are
light rows (ids and numbers): fine for thousands of pros in a trade around one postcode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from math import ceil

from django.conf import settings
from django.db.models import Count, ExpressionWrapper, F, FloatField, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import ACos, Coalesce, Cos, Greatest, Least, Radians, Sin

from jobs import places
from jobs.models import ProStats, TradespersonProfile, average_response_minutes
from jobs.selectors import EARTH_RADIUS_KM, Badge, badges_for, live_credentials
from marketplace.moderation import Moderation

from .ranking import Candidate, rank


def find_place(text: str) -> places.Place | None:
    """A place from what someone typed: a district ("N1"), a full postcode ("N1 9GU"), a sector
    ("EC2A"), a place name ("Islington") or a label ("Islington N1"). None if we do not know it."""
    text = " ".join(text.split())
    if not text:
        return None
    found = places.by_label(text)
    if found is not None:
        return found
    outward = text.split(" ")[0].upper()
    candidates = [outward]
    if re.fullmatch(r"[A-Z]{1,2}\d{1,2}[A-Z]", outward):  # EC2A -> EC2
        candidates.append(outward[:-1])
    for code in candidates:
        found = places.by_label(code)
        if found is not None:
            return found
    return None


def _distance_km(lat: float, lon: float) -> ExpressionWrapper:
    # Spherical law of cosines in SQL (as jobs.selectors does for the board); Least/Greatest keep acos in its domain.
    inner = Cos(Radians(lat)) * Cos(Radians(F("base_latitude"))) * Cos(Radians(F("base_longitude")) - Radians(lon)) + Sin(
        Radians(lat)
    ) * Sin(Radians(F("base_latitude")))
    return ExpressionWrapper(ACos(Least(Greatest(inner, -1.0), 1.0)) * EARTH_RADIUS_KM, output_field=FloatField())


@dataclass(frozen=True)
class Listing:
    """One pro on a directory page: the profile (trades prefetched), its badges and where it ranks."""

    profile: TradespersonProfile
    badges: list[Badge]
    distance_km: float | None
    rating_average: float | None
    rating_count: int
    response_minutes: float | None
    score: float


@dataclass(frozen=True)
class DirectoryPage:
    listings: list[Listing]
    total: int
    page: int
    pages: int
    place: places.Place | None = None
    trade: str = ""
    page_size: int = 10
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def candidates(*, trade: str = "", place: places.Place | None = None) -> list[Candidate]:
    """Every active pro accepting work in ``trade`` (a slug; all trades if empty) whose service area covers ``place``."""
    stats = ProStats.objects.filter(tradesperson_id=OuterRef("user_id"))
    badge_count = live_credentials().filter(profile_id=OuterRef("pk")).order_by().values("profile_id").annotate(n=Count("pk")).values("n")
    # Only profiles that passed moderation: one waiting for a check (or hidden by staff) is not public.
    rows = TradespersonProfile.objects.filter(user__is_active=True, is_accepting_leads=True, moderation_status=Moderation.APPROVED)
    if trade:
        rows = rows.filter(trades__slug=trade)
    rows = rows.annotate(
        rating_average=Subquery(stats.values("rating_average")[:1]),
        rating_count=Coalesce(Subquery(stats.values("rating_count")[:1]), 0),
        response_total=Coalesce(Subquery(stats.values("response_seconds_total")[:1]), Value(0.0)),
        bids_placed=Coalesce(Subquery(stats.values("bids_placed")[:1]), 0),
        badge_count=Coalesce(Subquery(badge_count, output_field=IntegerField()), 0),
    )
    if place is not None:
        rows = rows.annotate(distance_km=_distance_km(float(place.latitude), float(place.longitude))).filter(
            distance_km__lte=F("service_radius_km")
        )
    else:
        rows = rows.annotate(distance_km=Value(None, output_field=FloatField()))
    values = rows.values_list(
        "pk", "user_id", "distance_km", "rating_average", "rating_count", "response_total", "bids_placed", "badge_count"
    )
    return [
        Candidate(
            profile_id=pk,
            user_id=user_id,
            distance_km=None if distance is None else round(distance, 2),
            rating_average=None if rating is None else float(rating),
            rating_count=count,
            response_minutes=average_response_minutes(total, bids),
            badge_count=badges,
        )
        for pk, user_id, distance, rating, count, total, bids, badges in values
    ]


def search(*, trade: str = "", place: places.Place | None = None, page: int = 1, page_size: int | None = None) -> DirectoryPage:
    """One page of the directory, best first (``directory.ranking``); a page past the end is the last page."""
    size = page_size or int(settings.DIRECTORY["PAGE_SIZE"])
    ranked = rank(candidates(trade=trade, place=place))
    pages = max(1, ceil(len(ranked) / size))
    page = min(max(1, page), pages)
    window = ranked[(page - 1) * size : page * size]
    ids = [c.profile_id for c, _ in window]
    profiles = TradespersonProfile.objects.filter(pk__in=ids).prefetch_related("trades").in_bulk()
    badges = badges_for(profile_ids=ids)
    listings = [
        Listing(
            profile=profiles[c.profile_id],
            badges=badges[c.profile_id],
            distance_km=c.distance_km,
            rating_average=c.rating_average,
            rating_count=c.rating_count,
            response_minutes=c.response_minutes,
            score=score,
        )
        for c, score in window
    ]
    return DirectoryPage(listings=listings, total=len(ranked), page=page, pages=pages, place=place, trade=trade, page_size=size)


def badges_of_pro(*, user_id: int) -> list[Badge]:
    """The badges a tradesperson's public profile shows (empty without a profile)."""
    profile_id = TradespersonProfile.objects.filter(user_id=user_id).values_list("pk", flat=True).first()
    return [] if profile_id is None else badges_for(profile_ids=[profile_id])[profile_id]
