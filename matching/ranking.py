"""Ranking: who hears about a job first. Pure functions, no database.

Candidates are ranked by rating, distance and response time (closeness first in emergencies);
a round offers at most ``MATCHING['LEADS_PER_ROUND']`` new leads.
"""

from __future__ import annotations

from dataclasses import dataclass

from .selectors import MatchCandidate

DEFAULT_RATING = 4.0  # a newcomer ranks like a solid pro, not like a bad one
SLOW_RESPONSE_MINUTES = 240.0


@dataclass(frozen=True)
class Candidate:
    profile: MatchCandidate
    distance_km: float
    radius_km: float
    rating: float | None
    response_minutes: float | None


def score(candidate: Candidate, *, emergency: bool = False) -> float:
    """0..1, higher is better: rating 45 %, closeness 35 %, response speed 20 % (closeness first in emergencies)."""
    rating = (candidate.rating if candidate.rating is not None else DEFAULT_RATING) / 5.0
    closeness = max(0.0, 1.0 - candidate.distance_km / candidate.radius_km) if candidate.radius_km else 0.0
    minutes = candidate.response_minutes if candidate.response_minutes is not None else SLOW_RESPONSE_MINUTES / 2
    speed = max(0.0, 1.0 - minutes / SLOW_RESPONSE_MINUTES)
    if emergency:
        return 0.25 * rating + 0.55 * closeness + 0.20 * speed
    return 0.45 * rating + 0.35 * closeness + 0.20 * speed


def rank(candidates: list[Candidate], *, emergency: bool, limit: int) -> list[tuple[Candidate, float]]:
    scored = [(c, score(c, emergency=emergency)) for c in candidates]
    scored.sort(key=lambda pair: (-pair[1], pair[0].distance_km, pair[0].profile.user_id))
    return scored[:limit]
