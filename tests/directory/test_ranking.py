"""The directory's score (directory/ranking.py): pure, so each part is checked on its own and against the others."""

from __future__ import annotations

from dataclasses import replace

from directory.ranking import Candidate, parts, rank, score

BASE = Candidate(profile_id=1, user_id=1, distance_km=5.0, rating_average=4.5, rating_count=10, response_minutes=30.0, badge_count=1)


def test_each_part_moves_the_score_the_way_a_customer_expects() -> None:
    assert score(replace(BASE, rating_average=4.9)) > score(BASE) > score(replace(BASE, rating_average=3.0))
    assert score(replace(BASE, distance_km=1.0)) > score(BASE) > score(replace(BASE, distance_km=20.0))
    assert score(replace(BASE, response_minutes=5.0)) > score(BASE) > score(replace(BASE, response_minutes=200.0))
    assert score(replace(BASE, badge_count=2)) > score(BASE) > score(replace(BASE, badge_count=0))
    assert score(replace(BASE, badge_count=5)) == score(replace(BASE, badge_count=2))  # full marks at two badges


def test_a_single_five_star_review_does_not_beat_a_long_excellent_record() -> None:
    lucky = replace(BASE, profile_id=2, rating_average=5.0, rating_count=1)
    proven = replace(BASE, profile_id=3, rating_average=4.9, rating_count=40)
    assert parts(proven)["rating"] > parts(lucky)["rating"]
    # A newcomer (no reviews, no bids) is shrunk to the prior: a solid middle, not the bottom.
    newcomer = replace(BASE, rating_average=None, rating_count=0, response_minutes=None)
    assert parts(newcomer)["rating"] == 4.0 / 5 and parts(newcomer)["response"] == 0.5


def test_the_weights_are_the_documented_ones_and_the_score_stays_within_0_and_1() -> None:
    best = Candidate(9, 9, distance_km=0.0, rating_average=5.0, rating_count=10_000, response_minutes=0.0, badge_count=3)
    worst = Candidate(8, 8, distance_km=100.0, rating_average=1.0, rating_count=10_000, response_minutes=10_000.0, badge_count=0)
    assert 0.99 < score(best) <= 1.0 and 0.0 <= score(worst) < 0.1
    # Rating 40 %, distance 25 %, response 20 %, badges 15 %: only the badge part differs here.
    assert abs(score(replace(BASE, badge_count=2)) - score(replace(BASE, badge_count=0)) - 0.15) < 1e-3
    # Without a postcode, distance is the same middle value for everyone: it does not change the order.
    assert parts(replace(BASE, distance_km=None))["distance"] == 0.5


def test_rank_is_best_first_then_nearer_then_older_so_pages_are_stable() -> None:
    a = replace(BASE, profile_id=10, rating_average=4.8)
    b = replace(BASE, profile_id=11)
    c = replace(BASE, profile_id=12)  # the same as b: the older profile (lower id) first
    d = replace(BASE, profile_id=13, rating_average=3.0)
    assert [cand.profile_id for cand, _ in rank([d, c, b, a])] == [10, 11, 12, 13]
