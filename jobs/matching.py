"""Matching: which tradespeople hear about a job, in what order.

Pure functions (distance, score, ranking) plus the Kafka handler that runs them
on ``job.posted`` and ``job.search_widened``.  A candidate must do the job's
trade, be accepting leads, and have the job inside their service radius (times
the round's widening factor).  They are ranked by rating, distance and response
time; a round offers at most ``MATCHING['LEADS_PER_ROUND']`` new leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.notifications.services import notify
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import selectors, services
from .models import Job

EARTH_RADIUS_KM = 6371.0088
DEFAULT_RATING = 4.0  # a newcomer ranks like a solid pro, not like a bad one
SLOW_RESPONSE_MINUTES = 240.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = math.radians(lat2 - lat1)
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    profile: selectors.MatchCandidate
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


def find_candidates(job: Job, radius_factor: float) -> list[Candidate]:
    """Tradespeople who could take this job (trade, radius, accepting leads, not yet offered)."""
    lat, lon = float(job.latitude), float(job.longitude)
    result = []
    for pro in selectors.match_candidates(job=job, radius_factor=radius_factor):
        radius = pro.service_radius_km * radius_factor
        distance = haversine_km(lat, lon, float(pro.base_latitude), float(pro.base_longitude))
        if distance > radius or not selectors.pro_is_available(profile=pro, job=job):
            continue
        result.append(
            Candidate(
                profile=pro,
                distance_km=distance,
                radius_km=radius,
                rating=float(pro.rating_average) if pro.rating_average is not None else None,
                response_minutes=pro.response_minutes,
            )
        )
    return result


def _two_places(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class MatchingHandler(EventHandler):
    """Offers new jobs to the best-matching tradespeople, live.

    Writes the lead ledger (and ``lead.offered`` events through the outbox), a
    notification per lead, and pushes each lead to the tradesperson's open pages.
    Idempotent: a tradesperson is offered a job at most once.
    """

    def on_job_posted(self, event: Envelope) -> None:
        self._match(event, event.data["job_id"], radius_factor=settings.MATCHING["RADIUS_FACTORS"][0], match_round=1)

    def on_job_search_widened(self, event: Envelope) -> None:
        job_id = event.data["job_id"]
        offered = self._match(event, job_id, radius_factor=event.data["radius_factor"], match_round=event.data["match_round"])
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            notify(
                recipient_id=job.customer_id,
                kind="search_widened",
                title=f"We widened the search for “{job.title}”",
                body=f"No bids yet, so we offered it to {offered} more tradespeople further away."
                if offered
                else "No bids yet; we looked further away but found nobody new. Consider raising the budget or adding photos.",
                url=f"/jobs/{job_id}/",
                object_key=f"job:{job_id}:round:{event.data['match_round']}",
            )

    def _match(self, event: Envelope, job_id: int, *, radius_factor: float, match_round: int) -> int:
        job = Job.objects.select_related("trade").filter(pk=job_id).first()
        if job is None or job.status != Job.Status.OPEN:
            return 0
        ranked = rank(find_candidates(job, radius_factor), emergency=job.is_emergency, limit=settings.MATCHING["LEADS_PER_ROUND"])
        offers = [(c.profile, _two_places(c.distance_km), Decimal(str(round(s, 4)))) for c, s in ranked]
        leads = services.leads_offer(job=job, offers=offers, match_round=match_round)
        for lead in leads:
            payload = {
                "lead_id": lead.pk,
                "job_id": job.pk,
                "title": job.title,
                "trade": job.trade.name,
                "place": job.place,
                "distance_km": str(lead.distance_km),
                "budget_min": str(job.budget_min),
                "budget_max": str(job.budget_max),
                "is_emergency": job.is_emergency,
                "offered_at": lead.offered_at.isoformat(),
            }
            push.send_on_commit(user_stream(lead.tradesperson_id), event, payload, name="lead.offered")
            notify(
                recipient_id=lead.tradesperson_id,
                kind="lead",
                title=("Emergency: " if job.is_emergency else "New lead: ") + job.title,
                body=f"{job.trade.name} in {job.place or 'your area'}, {lead.distance_km} km away.",
                url=f"/leads/{job.pk}/",
                object_key=f"job:{job.pk}",
            )
        return len(leads)
