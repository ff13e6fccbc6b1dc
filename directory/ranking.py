"""How the pro directory (/pros/, /api/pros/) orders tradespeople. Pure functions, no database.

The score is 0..1, higher first; ties go to the nearer, then the older account. Its four parts, each 0..1,
weighted by ``settings.DIRECTORY["WEIGHTS"]`` (rating 40 %, distance 25 %, response time 20 %, badges 15 %):

- **rating**: the average of visible reviews, shrunk towards ``PRIOR_RATING`` (4.0) as if the pro had
  ``PRIOR_REVIEWS`` (3) more reviews of it, over 5. One 5-star review does not beat forty 4.9s; a newcomer
  ranks like a solid pro, not a bad one.
- **distance**: 1 at the searched postcode, falling to 0 at ``DISTANCE_SCALE_KM`` (30 km); without a
  postcode every pro gets the same middle value, so it does not change the order.
- **response time**: the mean minutes from a lead to the pro's bid (``jobs.ProStats``), 1 for instant,
  0 at ``SLOW_RESPONSE_MINUTES`` (4 hours); unknown (no bid yet) counts half.
- **badges**: verified, unexpired credentials (Gas Safe, NICEIC, insurance, ...), full marks at
  ``BADGES_FOR_FULL_MARKS`` (2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Candidate:
    """What ranking needs to know about one pro (``directory.selectors`` builds them in one query)."""

    profile_id: int
    user_id: int
    distance_km: float | None
    rating_average: float | None
    rating_count: int
    response_minutes: float | None
    badge_count: int


def parts(candidate: Candidate, config: dict[str, Any] | None = None) -> dict[str, float]:
    """Each part of the score, 0..1 (shown to staff and tests; :func:`score` weights them)."""
    c = config or settings.DIRECTORY
    prior, prior_n = float(c["PRIOR_RATING"]), int(c["PRIOR_REVIEWS"])
    n = candidate.rating_count if candidate.rating_average is not None else 0
    rating = ((candidate.rating_average or 0.0) * n + prior * prior_n) / (n + prior_n) if n + prior_n else prior
    scale = float(c["DISTANCE_SCALE_KM"])
    closeness = 0.5 if candidate.distance_km is None else max(0.0, 1.0 - candidate.distance_km / scale)
    slow = float(c["SLOW_RESPONSE_MINUTES"])
    speed = 0.5 if candidate.response_minutes is None else max(0.0, 1.0 - candidate.response_minutes / slow)
    badges = min(1.0, candidate.badge_count / max(1, int(c["BADGES_FOR_FULL_MARKS"])))
    return {"rating": rating / 5.0, "distance": closeness, "response": speed, "badges": badges}


def score(candidate: Candidate, config: dict[str, Any] | None = None) -> float:
    """The weighted sum of :func:`parts`, 0..1, rounded to 4 places (so equal pros tie exactly)."""
    weights = (config or settings.DIRECTORY)["WEIGHTS"]
    return round(sum(weights[name] * value for name, value in parts(candidate, config).items()), 4)


def rank(candidates: list[Candidate], config: dict[str, Any] | None = None) -> list[tuple[Candidate, float]]:
    """Best first: by score, then nearer, then the older profile (lower id); the order is total, so pages are stable."""
    scored = [(c, score(c, config)) for c in candidates]
    scored.sort(key=lambda pair: (-pair[1], pair[0].distance_km if pair[0].distance_km is not None else 0.0, pair[0].profile_id))
    return scored
