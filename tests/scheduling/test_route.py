"""The route solver (scheduling.route): travel legs in booked order, and the order that cuts travel (exact, 2-opt, windows)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise, permutations

from scheduling.route import Stop, _Costs, exact_order, plan_route, travel_minutes, two_opt

NINE = datetime(2027, 1, 11, 9, tzinfo=UTC)
KM_LAT = 1 / 111.195  # degrees of latitude per kilometre


def stop(key: int, km_north: float, hour: float, *, minutes: int = 30, km_east: float = 0.0, fixed: bool = False) -> Stop:
    start = NINE + timedelta(hours=hour - 9)
    return Stop(
        key=key,
        label=f"S{key}",
        lat=51.5 + km_north * KM_LAT,
        lng=-0.12 + km_east * KM_LAT / 0.6225,  # cos(51.5 deg): a kilometre of longitude there
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        earliest=start if fixed else None,
        latest=start if fixed else None,
    )


def keys(stops: list[Stop]) -> list[int]:
    return [s.key for s in stops]


def test_travel_is_road_distance_at_the_configured_speed(settings):
    assert travel_minutes(2) == 10  # 2.6 km at 30 km/h = 5.2 min, rounded up to 5
    settings.ROUTE = {**settings.ROUTE, "SPEED_KMH": 60.0, "ROUNDING_MINUTES": 1}
    assert travel_minutes(10) == 13  # 13 km at 60 km/h


def test_booked_legs_carry_travel_gaps_and_tight_warnings():
    route = plan_route([stop(2, 6, 10), stop(1, 0, 9), stop(3, 2, 10.75)])  # any order in: booked order out
    assert keys(route.stops) == [1, 2, 3]
    assert [(leg.minutes, leg.gap_minutes, leg.too_tight) for leg in route.legs] == [(20, 30, False), (15, 15, False)]
    tight = plan_route([stop(1, 0, 9), stop(2, 6, 9.75)])  # 15 min gap, 20 min drive
    assert tight.legs[0].too_tight and tight.travel_minutes == 20 and tight.method == "none"


def test_exact_order_on_a_line_visits_it_end_to_end():
    # Booked zig-zag along a road: 0 km, 6 km, 2 km, 4 km (20 + 15 + 10 = 45 min); end to end is 10 + 10 + 10 = 30.
    route = plan_route([stop(1, 0, 9), stop(2, 6, 10), stop(3, 2, 11), stop(4, 4, 12)])
    assert route.method == "exact"
    assert route.travel_minutes == 45
    assert route.suggested_travel_minutes == 30 and route.saves_minutes == 15 and route.has_suggestion
    assert keys(route.suggested) in ([1, 3, 4, 2], [2, 4, 3, 1])
    assert [leg.minutes for leg in route.suggested_legs] == [10, 10, 10]


def test_exact_order_matches_brute_force_on_random_days():
    rng = random.Random(21)
    for _ in range(20):
        stops = [stop(k, rng.uniform(0, 15), 9 + k, km_east=rng.uniform(0, 15)) for k in range(6)]
        costs = _Costs(stops)
        best = min(costs.path(p) for p in permutations(range(6)))
        found = exact_order(stops, costs, NINE)
        assert found is not None and abs(costs.path(found) - best) < 1e-6


def test_a_booked_order_already_shortest_is_not_reordered():
    route = plan_route([stop(1, 0, 9), stop(2, 2, 10), stop(3, 4, 11)])
    assert not route.has_suggestion and keys(route.suggested) == [1, 2, 3] and route.saves_minutes == 0


def test_two_opt_uncrosses_a_crossing_route():
    # Corners of a 6 km square visited corner, opposite corner, corner, opposite corner: the two diagonals cross.
    a, b, c, d = stop(1, 0, 9), stop(2, 6, 10), stop(3, 6, 11, km_east=6), stop(4, 0, 12, km_east=6)
    stops = [a, b, c, d]
    costs = _Costs(stops)
    crossing = [0, 2, 1, 3]  # a -> c (diagonal) -> b -> d (diagonal)
    better = two_opt(crossing, stops, costs, NINE)
    assert costs.path(better) < costs.path(crossing)
    assert [costs.minutes[i][j] for i, j in pairwise(better)] == [20, 20, 20]  # three sides, no diagonal


def test_more_stops_than_the_exact_limit_use_nearest_neighbour_and_two_opt():
    positions = [0, 9, 2, 7, 4, 11, 1, 8, 3, 10]  # ten stops booked out of order along one road, the first at its end
    route = plan_route([stop(k, km, 8 + k, minutes=20) for k, km in enumerate(positions)])
    assert route.method == "2-opt"
    assert keys(route.suggested) == sorted(range(10), key=lambda k: positions[k])
    assert route.suggested_travel_minutes < route.travel_minutes


def test_a_confirmed_time_is_kept_even_when_a_shorter_order_would_make_it_late():
    flexible = [stop(1, 0, 9), stop(2, 6, 10), stop(3, 2, 11)]
    assert plan_route(flexible).saves_minutes == 10  # 0 -> 2 -> 6 km instead of 0 -> 6 -> 2 km
    # 1 and 2 confirmed: putting 3 between them would get to 2 at 10:25, not 10:00; 3 first would make 1 late.
    windows = [stop(1, 0, 9, fixed=True), stop(2, 6, 10, fixed=True), stop(3, 2, 11)]
    route = plan_route(windows)
    assert not route.has_suggestion and keys(route.suggested) == [1, 2, 3]


def test_a_window_is_waited_for_not_broken():
    # 2 is confirmed for 12:00 at 2 km; going 0 km -> 2 km (arrive 09:40, wait until 12:00) -> 6 km beats 0 -> 6 -> 2 km.
    route = plan_route([stop(1, 0, 9), stop(3, 6, 10), stop(2, 2, 12, fixed=True)])
    assert route.travel_minutes == 35
    assert keys(route.suggested) == [1, 2, 3] and route.suggested_travel_minutes == 25 and route.saves_minutes == 10
