"""One shape per thing the directory shows: a badge list and a directory card, for the pages, the API and the live push."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from jobs.selectors import Badge

from .selectors import Listing


def badges_body(badges: list[Badge]) -> dict[str, Any]:
    """What ``badges.changed`` carries and ``/api/pros/<id>/badges/`` returns: the badges shown now."""
    return {"badges": [b.as_dict() for b in badges]}


def listing_card(listing: Listing) -> dict[str, Any]:
    """A pro in the directory, as the public sees them: never an exact address, email or phone."""
    profile = listing.profile
    return {
        "user_id": profile.user_id,
        "business_name": profile.business_name,
        "trades": [{"slug": t.slug, "name": t.name} for t in profile.trades.all()],
        "base_place": profile.base_place,
        "service_radius_km": profile.service_radius_km,
        "distance_km": listing.distance_km,
        "rating_average": listing.rating_average,
        "rating_count": listing.rating_count,
        "response_minutes": listing.response_minutes,
        "badges": [b.as_dict() for b in listing.badges],
        "score": listing.score,
        "profile_url": reverse("pro-public", args=[profile.user_id]),
        "request_quote_url": f"{reverse('job-new')}?pro={profile.user_id}",
    }
