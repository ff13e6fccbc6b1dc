"""Matching: the right tradespeople, in the right order, at most N per round, live."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs import services
from jobs.models import Job, Lead, ProStats
from marketplace.events.models import OutboxEvent
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from marketplace.geo import haversine_km
from marketplace.notifications.models import Notification
from matching.ranking import Candidate, rank
from matching.selectors import MatchCandidate, match_candidates
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import offer, post_job, pro, trade


def test_haversine_matches_known_distances() -> None:
    assert haversine_km(51.5362, -0.1033, 51.5362, -0.1033) == 0
    # Islington N1 to Brixton SW2 is about 9.4 km as the crow flies.
    assert 9.0 < haversine_km(51.5362, -0.1033, 51.4523, -0.1184) < 9.8
    # London to Cambridge, about 79 km.
    assert 75 < haversine_km(51.5074, -0.1278, 52.2053, 0.1218) < 82


def _candidate(user_id: int, distance: float, rating: float | None, response: float | None) -> Candidate:
    profile = MatchCandidate(user_id, 20, Decimal(0), Decimal(0), None, None)
    return Candidate(profile=profile, distance_km=distance, radius_km=20, rating=rating, response_minutes=response)


def test_ranking_prefers_rating_then_closeness_and_caps() -> None:
    excellent_far = _candidate(1, 15, 5.0, 10)
    poor_near = _candidate(2, 1, 2.0, 10)
    average_mid = _candidate(3, 8, 4.0, 60)
    ranked = rank([poor_near, average_mid, excellent_far], emergency=False, limit=2)
    assert [c.profile.user_id for c, _ in ranked] == [1, 3]
    # In an emergency closeness weighs most: the nearby pro comes first.
    assert rank([excellent_far, poor_near], emergency=True, limit=1)[0][0].profile.user_id == 2


@pytest.mark.django_db
def test_match_candidates_are_the_trade_s_active_accepting_pros_in_the_latitude_band_not_yet_offered(customer) -> None:
    """The one statement matching reads per job: each rule of who may be offered it, and their stats."""
    plumbing, electrical = trade(), trade("electrical", "Electrical")
    rated = pro("rated")  # Islington, 15 km
    new_pro = pro("newcomer", at=(Decimal("51.55"), Decimal("-0.30")))  # in the band; the exact distance is the caller's
    pro("sparky", trades=[electrical])
    pro("resting", is_accepting_leads=False)
    gone = pro("gone")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    north = pro("north", at=(Decimal("51.80"), Decimal("-0.10")))  # 0.27 degrees (30 km) north: outside a 15 km band
    offered = pro("offered")
    ProStats.objects.create(tradesperson_id=rated.pk, rating_average=Decimal("4.50"), bids_placed=4, response_seconds_total=4 * 30 * 60)
    job = post_job(customer, trade=plumbing, latitude=Decimal("51.53620"), longitude=Decimal("-0.10330"))
    offer(job, offered)

    found = {c.user_id: c for c in match_candidates(job=job)}
    assert set(found) == {rated.pk, new_pro.pk}
    assert (found[rated.pk].rating_average, found[rated.pk].response_minutes) == (Decimal("4.50"), 30.0)
    assert (found[new_pro.pk].rating_average, found[new_pro.pk].response_minutes) == (None, None)
    assert (found[rated.pk].service_radius_km, found[rated.pk].base_latitude) == (15, Decimal("51.53620"))
    # Widening the round widens the band: 2.5 x 15 km reaches the pro 30 km north.
    assert {c.user_id for c in match_candidates(job=job, radius_factor=2.5)} == {rated.pk, new_pro.pk, north.pk}
    # Never the job's own customer, even if that account is a tradesperson of the trade.
    own = Job.objects.create(
        customer=rated,
        trade=plumbing,
        title="Mine",
        description="-",
        latitude=job.latitude,
        longitude=job.longitude,
        expires_at=job.expires_at,
    )
    assert rated.pk not in {c.user_id for c in match_candidates(job=own)}


@pytest.mark.django_db(transaction=True)
def test_a_posted_job_is_offered_to_matching_pros_only_once_each_and_live(broker, customer, settings) -> None:
    settings.MATCHING = {**settings.MATCHING, "LEADS_PER_ROUND": 2}
    plumbing, electrical = trade(), trade("electrical", "Electrical")
    near = [pro(f"near{i}", at=(Decimal("51.54"), Decimal("-0.10") - Decimal(i) / 100)) for i in range(3)]
    wrong_trade = pro("sparky", trades=[electrical])
    too_far = pro("faraway", at=(Decimal("52.2053"), Decimal("0.1218")), radius=30)  # Cambridge
    off = pro("resting", is_accepting_leads=False)
    job = post_job(customer, trade=plumbing, latitude=Decimal("51.5500"), longitude=Decimal("-0.1000"))

    relay_all()
    run_consumer_until(lambda: Lead.objects.count() == 2, get_consumer("matching"))
    offered = set(Lead.objects.values_list("tradesperson__username", flat=True))
    assert offered <= {u.username for u in near} and len(offered) == 2  # capped, best two
    assert not Lead.objects.filter(tradesperson__in=[wrong_trade, too_far, off]).exists()
    assert set(Notification.objects.filter(kind="lead").values_list("recipient__username", flat=True)) == offered
    assert OutboxEvent.objects.filter(event_type="lead.offered").count() == 2

    # The customer gets no bids; the clock widens the search: the third nearby pro is offered.
    services.job_widen_search(job=job)
    relay_all()
    runner = ConsumerRunner(get_consumer("matching"))
    run_consumer_until(lambda: Lead.objects.count() == 3 and runner.stats.processed >= 1, runner=runner)
    assert Lead.objects.get(match_round=2).tradesperson.username in {u.username for u in near} - offered
    widened = Notification.objects.get(kind="search_widened")
    assert widened.recipient == customer and "1 more tradespeople" in widened.body
    assert Lead.objects.filter(tradesperson=too_far).count() == 0  # 1.5 x 30 km still doesn't reach Cambridge
