"""Kafka handlers of matching.

- :class:`MatchingHandler` (consumer ``matching``): on ``job.posted`` and ``job.search_widened``
  finds the candidates (trade, radius times the round's widening factor, accepting leads, not declining
  the job's answers to its trade's questions, room in the window), ranks them and offers the best a
  lead, live.  A direct request (a job with a requested tradesperson, still exclusive) goes to that
  tradesperson alone; on ``job.direct_request_opened`` the first round runs as for any job.  On
  ``job.updated`` that moved the job or changed its trade it re-matches: leads that no longer fit are
  withdrawn (live), the job is topped up with new ones.  On ``bid.withdrawn`` that leaves an open job
  without a live bid it widens the search at once.  A job never has more than
  ``MATCHING['LEADS_PER_JOB']`` live leads.
- :class:`ProStatsProjection` (consumer ``pro-stats``): response times and wins per tradesperson,
  which ranking reads.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils.dateparse import parse_datetime

from jobs import events as ev
from jobs import presenters
from jobs.models import LIVE_BID_STATUSES, Bid, Job, Lead, ProStats, TradespersonProfile
from jobs.services import job_widen_search
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.geo import haversine_km
from marketplace.notifications.services import notify
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream

from . import selectors, services
from .ranking import Candidate, rank


def find_candidates(job: Job, radius_factor: float) -> list[Candidate]:
    """Tradespeople who could take this job (trade, radius, accepting leads, answers they take, not yet offered)."""
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


def fit_distance(job: Job, profile: TradespersonProfile | None, radius_factor: float) -> float | None:
    """How far the job is from the tradesperson's base if it still fits them (their trade, within
    their radius times the round's factor); None if it no longer does (or their profile is gone)."""
    if profile is None or job.trade_id not in {trade.pk for trade in profile.trades.all()}:
        return None
    distance = haversine_km(float(job.latitude), float(job.longitude), float(profile.base_latitude), float(profile.base_longitude))
    return distance if distance <= profile.service_radius_km * radius_factor else None


# What a job.updated must have changed for matching to look again (an event without ``changed``,
# v1/v2, is judged as if it had: re-matching an unchanged job withdraws and offers nothing).
REMATCH_FIELDS = frozenset({"latitude", "longitude", "trade"})


def _two_places(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class MatchingHandler(EventHandler):
    """Offers new jobs to the best-matching tradespeople, live.

    Writes the lead ledger (and ``lead.offered`` events through the outbox), a
    notification per lead, and pushes each lead to the tradesperson's open pages.
    Idempotent: a tradesperson is offered a job at most once.
    """

    def on_job_posted(self, event: Envelope) -> None:
        job_id = event.payload(ev.JobPostedV3)["job_id"]
        job = Job.objects.select_related("trade").filter(pk=job_id).first()
        if job is not None and job.requested_pro_id is not None and job.exclusive_until is not None:
            self._offer_requested(event, job)
            return
        self._match(event, job_id, radius_factor=settings.MATCHING["RADIUS_FACTORS"][0], match_round=1, job=job)

    def on_job_direct_request_opened(self, event: Envelope) -> None:
        self._match(
            event, event.payload(ev.JobDirectRequestOpenedV1)["job_id"], radius_factor=settings.MATCHING["RADIUS_FACTORS"][0], match_round=1
        )

    def _offer_requested(self, event: Envelope, job: Job) -> None:
        """The direct request's lead, to the requested tradesperson only (whatever their radius: the customer chose them)."""
        if job.status != Job.Status.OPEN or job.requested_pro_id is None:
            return
        profile = TradespersonProfile.objects.filter(user_id=job.requested_pro_id).first()
        if profile is None:
            return
        distance = haversine_km(float(job.latitude), float(job.longitude), float(profile.base_latitude), float(profile.base_longitude))
        self._announce(event, job, services.leads_offer(job=job, offers=[(profile, _two_places(distance), Decimal("1"))], match_round=1))

    def on_job_search_widened(self, event: Envelope) -> None:
        d = event.payload(ev.JobSearchWidenedV2)
        job_id = d["job_id"]
        offered = self._match(event, job_id, radius_factor=d["radius_factor"], match_round=d["match_round"])
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
                object_key=f"job:{job_id}:round:{d['match_round']}",
            )

    def on_job_updated(self, event: Envelope) -> None:
        """Re-match a job whose place or trade changed: withdraw leads that no longer fit, offer new ones.

        A tradesperson who already bid keeps the lead and the bid (the customer may still accept it),
        and is told the job moved out of their area or trade.  The job is topped up to what its rounds
        so far would offer (``LEADS_PER_ROUND`` per round), within the per-job cap.
        """
        d = event.payload(ev.JobUpdatedV3)
        changed = d.get("changed")
        if changed is not None and not REMATCH_FIELDS & set(changed):
            return
        job = Job.objects.select_related("trade").filter(pk=d["job_id"]).first()
        if job is None or job.status != Job.Status.OPEN:
            return
        factors: list[float] = settings.MATCHING["RADIUS_FACTORS"]
        match_round = min(max(job.match_round, 1), len(factors))
        radius_factor = factors[match_round - 1]
        stale: list[Lead] = []
        moved: list[Lead] = []
        for lead, profile, bid in selectors.live_leads_with_fit(job=job):
            distance = fit_distance(job, profile, radius_factor)
            if distance is None:
                if bid:
                    self._tell_bidder_out_of_area(job, lead, event)
                else:
                    stale.append(lead)
            elif _two_places(distance) != lead.distance_km:
                lead.distance_km = _two_places(distance)
                moved.append(lead)
        Lead.objects.bulk_update(moved, ["distance_km"])
        for lead in services.leads_withdraw(job=job, leads=stale):
            push.send_on_commit(user_stream(lead.tradesperson_id), event, presenters.lead_card(lead, job, None), name="lead.withdrawn")
            notify(
                recipient_id=lead.tradesperson_id,
                kind="lead_withdrawn",
                title=f"Lead withdrawn: {job.title}",
                body="The customer changed this job and it no longer matches your trades or area.",
                url=f"/leads/{job.pk}/",
                object_key=f"job:{job.pk}:withdrawn:{event.event_id}",
            )
        target = int(settings.MATCHING["LEADS_PER_ROUND"]) * match_round
        room = target - selectors.live_lead_count(job_id=job.pk)
        if room > 0:
            self._match(event, job.pk, radius_factor=radius_factor, match_round=match_round, limit=room)

    def _tell_bidder_out_of_area(self, job: Job, lead: Lead, event: Envelope) -> None:
        notify(
            recipient_id=lead.tradesperson_id,
            kind="lead",
            title=f"The job you bid on changed: {job.title}",
            body=f"It is now in {job.place or 'a new place'}, outside your trades or area. Your bid stands; "
            "withdraw it if you can no longer do the job.",
            url=f"/leads/{job.pk}/",
            object_key=f"job:{job.pk}:out_of_area:{event.event_id}",
        )

    def on_bid_withdrawn(self, event: Envelope) -> None:
        """The last live bid on an open job was withdrawn: widen the search now rather than wait for the clock."""
        job_id = event.payload(ev.BidWithdrawnV1)["job_id"]
        job = Job.objects.filter(pk=job_id, status=Job.Status.OPEN).first()
        if job is None or Bid.objects.filter(job_id=job_id, status__in=LIVE_BID_STATUSES).exists():
            return
        job_widen_search(job=job)  # emits job.search_widened, which this consumer then matches

    def _match(
        self, event: Envelope, job_id: int, *, radius_factor: float, match_round: int, limit: int | None = None, job: Job | None = None
    ) -> int:
        """Offer the job to the best candidates (``job``: the job with its trade, if the caller read it already)."""
        if job is None:
            job = Job.objects.select_related("trade").filter(pk=job_id).first()
        if job is None or job.status != Job.Status.OPEN:
            return 0
        per_round = int(settings.MATCHING["LEADS_PER_ROUND"])
        limit = min(per_round, limit) if limit is not None else per_round
        limit = min(limit, services.lead_room(job=job))
        if limit <= 0:
            return 0
        ranked = rank(find_candidates(job, radius_factor), emergency=job.is_emergency, limit=limit)
        offers = [(c.profile, _two_places(c.distance_km), Decimal(str(round(s, 4)))) for c, s in ranked]
        leads = services.leads_offer(job=job, offers=offers, match_round=match_round)
        self._announce(event, job, leads)
        return len(leads)

    def _announce(self, event: Envelope, job: Job, leads: list[Lead]) -> None:
        """Each new lead, live to the tradesperson's open pages, and in their notifications."""
        direct = job.exclusive_until is not None
        for lead in leads:
            # The lead card, as the leads page draws it (no bid yet).
            push.send_on_commit(user_stream(lead.tradesperson_id), event, presenters.lead_card(lead, job, None), name="lead.offered")
            notify(
                recipient_id=lead.tradesperson_id,
                kind="lead",
                title=("Emergency: " if job.is_emergency else "Quote requested from you: " if direct else "New lead: ") + job.title,
                body=f"{job.trade.name} in {job.place or 'your area'}, {lead.distance_km} km away."
                + (" The customer asked you first; quote or decline before others are invited." if direct else ""),
                url=f"/leads/{job.pk}/",
                object_key=f"job:{job.pk}",
            )


class ProStatsProjection(EventHandler):
    """Per-tradesperson lead and bid record; counters are exact thanks to the inbox."""

    def reset(self) -> None:
        # Zero our own counters only: rating_average/rating_count belong to the ratings consumer
        # (reviews.projections), so replaying pro-stats must not wipe them.
        ProStats.objects.update(leads_offered=0, leads_seen=0, bids_placed=0, jobs_won=0, response_seconds_total=0, no_shows=0)

    def _bump(self, user_id: int, **increments: Any) -> None:
        ProStats.objects.get_or_create(tradesperson_id=user_id)
        ProStats.objects.filter(tradesperson_id=user_id).update(**{k: F(k) + v for k, v in increments.items()})

    def on_lead_offered(self, event: Envelope) -> None:
        self._bump(event.payload(ev.LeadOfferedV1)["tradesperson_id"], leads_offered=1)

    def on_lead_seen(self, event: Envelope) -> None:
        self._bump(event.payload(ev.LeadSeenV1)["tradesperson_id"], leads_seen=1)

    def on_bid_placed(self, event: Envelope) -> None:
        d = event.payload(ev.BidPlacedV1)
        offered_at = d.get("lead_offered_at")
        offered = parse_datetime(offered_at) if offered_at else None
        if offered is None:
            lead = Lead.objects.filter(job_id=d["job_id"], tradesperson_id=d["tradesperson_id"]).first()
            offered = lead.offered_at if lead else event.occurred_at
        seconds = max(0.0, (event.occurred_at - offered).total_seconds())
        self._bump(d["tradesperson_id"], bids_placed=1, response_seconds_total=seconds)

    def on_job_awarded(self, event: Envelope) -> None:
        self._bump(event.payload(ev.JobAwardedV2)["tradesperson_id"], jobs_won=1)

    def on_job_no_show(self, event: Envelope) -> None:
        # Only the tradesperson's no-shows count against them; an absent customer is not their fault.
        d = event.payload(ev.JobNoShowV1)
        if d["side"] == "tradesperson":
            self._bump(d["tradesperson_id"], no_shows=1)
