"""A worker's route for one day: the legs between their appointments and a suggested order that cuts travel.

Pure: no database, no clock.  The selector (:func:`scheduling.selectors.worker_day_route`) builds
the :class:`Stop` list; :mod:`scheduling.presenters` shapes the result for the page and the API.

**Travel time** of a leg: the straight-line (haversine) distance between the two jobs' district
centres x ``settings.ROUTE["ROAD_FACTOR"]`` (roads are rarely straight; 1.3 is the usual urban
detour index) at ``settings.ROUTE["SPEED_KMH"]`` (an urban average including traffic and parking),
rounded up to ``settings.ROUTE["ROUNDING_MINUTES"]``.  Deliberately rough: jobs only know their
postcode district, so anything finer (a road network, live traffic) would be false precision.
The dispatch board's travel flags use the same estimate (:func:`travel_minutes`).

**The day as booked** (:attr:`Route.legs`): the stops in time order, each leg with its travel
minutes, the gap the booking leaves, and ``too_tight`` when the gap is shorter than the travel.

**The suggested order** (:attr:`Route.suggested`): the order of the same stops that minimises total
travel (an open path: the model keeps no home base per worker, so the route starts at the first
stop and ends at the last).  Each stop may carry a window for its *start* (``earliest``/``latest``);
an appointment the customer has confirmed keeps its booked start (a window of one instant), the
others are free to move within the day.  An order is feasible when, starting at the day's first
booked start and driving each leg, every stop can start inside its window (waiting is allowed).

Solver (decision): for up to ``settings.ROUTE["EXACT_MAX_STOPS"]`` (8) stops, an **exact** search of
every order (branch and bound: depth-first, nearest stop first, pruned when the drive so far plus
the cheapest way into each stop still to visit cannot beat the best order found, and when a window
is already missed: at most 8! = 40,320 orders, in practice about 2,000 nodes, 10-30 ms).  A technician's day rarely has more than 8
jobs.  Above that, the classic **nearest neighbour + 2-opt** local search (Croes 1958; reverse a
segment whenever that shortens the path and keeps every window) from both the booked order and the
nearest-neighbour order, keeping the better.  OR-Tools (in the package index) would solve the
same problem with windows, but it is a ~30 MB native wheel with its own protobuf pin for a search
over at most a handful of stops per worker; python-tsp and elkai know no time windows.

Ties keep the booked order: a suggestion appears only when it saves at least a minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings

from marketplace.geo import haversine_km


def _figures() -> dict[str, float]:
    return dict(settings.ROUTE)


def travel_minutes(km: float) -> int:
    """Estimated minutes to drive between two points ``km`` apart as the crow flies, rounded up (to 5 by default)."""
    figures = _figures()
    rounding = int(figures["ROUNDING_MINUTES"])
    minutes = km * float(figures["ROAD_FACTOR"]) / float(figures["SPEED_KMH"]) * 60
    if minutes <= 0:
        return 0
    # Tolerate float noise so that exactly 10.0 minutes does not become 15.
    return math.ceil(minutes / rounding - 1e-9) * rounding


@dataclass(frozen=True)
class Stop:
    """One appointment to visit: where, when it is booked, and the window its start must keep in a suggested order."""

    key: int  # the appointment id
    label: str  # the place ("Islington N1") or, without one, the job title
    lat: float
    lng: float
    starts_at: datetime  # booked, aware
    ends_at: datetime  # booked, aware
    earliest: datetime | None = None  # the start may not be earlier than this...
    latest: datetime | None = None  # ...nor later than this (both equal the booked start when it is fixed)
    title: str = ""  # the job's title, for people

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def fixed(self) -> bool:
        return self.earliest is not None and self.earliest == self.latest


@dataclass(frozen=True)
class Leg:
    """Driving from ``origin`` to ``destination``."""

    origin: Stop
    destination: Stop
    km: float
    minutes: int
    gap_minutes: int | None = None  # booked order only: time between the first's end and the second's start
    too_tight: bool = False  # booked order only: the gap is shorter than the drive


@dataclass(frozen=True)
class Route:
    stops: list[Stop]  # in booked (time) order
    legs: list[Leg]  # between consecutive stops in booked order
    travel_minutes: int
    suggested: list[Stop]  # the best order found (the booked order when nothing beats it)
    suggested_legs: list[Leg]
    suggested_travel_minutes: int
    method: str  # "exact", "2-opt" or "none" (fewer than three stops: nothing to reorder)

    @property
    def saves_minutes(self) -> int:
        return max(0, self.travel_minutes - self.suggested_travel_minutes)

    @property
    def has_suggestion(self) -> bool:
        return self.saves_minutes > 0


class _Costs:
    """Leg minutes (rounded, as shown) between every pair of stops; kilometres break ties."""

    def __init__(self, stops: Sequence[Stop]) -> None:
        n = len(stops)
        self.km = [[haversine_km(a.lat, a.lng, b.lat, b.lng) if i != j else 0.0 for j, b in enumerate(stops)] for i, a in enumerate(stops)]
        self.minutes = [[travel_minutes(self.km[i][j]) for j in range(n)] for i in range(n)]

    def cost(self, i: int, j: int) -> float:
        return self.minutes[i][j] + self.km[i][j] * 1e-6

    def path(self, order: Sequence[int]) -> float:
        return sum(self.cost(i, j) for i, j in pairwise(order))


def _feasible(order: Sequence[int], stops: Sequence[Stop], costs: _Costs, day_start: datetime) -> bool:
    """Whether every stop can start inside its window when the day starts at ``day_start`` and legs are driven in ``order``."""
    free_at = day_start
    previous: int | None = None
    for index in order:
        stop = stops[index]
        arrive = free_at if previous is None else free_at + timedelta(minutes=costs.minutes[previous][index])
        start = max(arrive, stop.earliest) if stop.earliest is not None else arrive
        if stop.latest is not None and start > stop.latest:
            return False
        free_at, previous = start + stop.duration, index
    return True


def exact_order(stops: Sequence[Stop], costs: _Costs, day_start: datetime) -> list[int] | None:
    """The feasible order with the least travel (depth-first over all orders, pruned); None when no order is feasible."""
    n = len(stops)
    best: list[float] = [math.inf]
    best_order: list[int] | None = None
    order: list[int] = []
    used = [False] * n
    # A lower bound on what is left: every stop not visited yet is still to be driven to, at least from its nearest other stop.
    cost_of = [[costs.cost(i, j) for j in range(n)] for i in range(n)]
    cheapest_in = [min((cost_of[i][j] for i in range(n) if i != j), default=0.0) for j in range(n)]
    nearest_first = [sorted(range(n), key=row.__getitem__) for row in cost_of]  # good orders early: more pruning
    durations = [stop.duration for stop in stops]

    def visit(cost: float, free_at: datetime, left_bound: float) -> None:
        nonlocal best_order
        if len(order) == n:
            if cost < best[0] - 1e-9:
                best[0], best_order = cost, list(order)
            return
        # The first stop is reached without driving, so the bound leaves out the dearest arrival until one is chosen.
        bound = left_bound - (max(cheapest_in[j] for j in range(n) if not used[j]) if not order else 0.0)
        if cost + bound >= best[0] - 1e-9:
            return
        previous = order[-1] if order else None
        candidates = range(n) if previous is None else nearest_first[previous]
        for index in candidates:
            if used[index]:
                continue
            stop = stops[index]
            leg = 0 if previous is None else costs.minutes[previous][index]
            arrive = free_at + timedelta(minutes=leg)
            start = max(arrive, stop.earliest) if stop.earliest is not None else arrive
            if stop.latest is not None and start > stop.latest:
                continue
            used[index] = True
            order.append(index)
            visit(cost + (0.0 if previous is None else cost_of[previous][index]), start + durations[index], left_bound - cheapest_in[index])
            order.pop()
            used[index] = False

    visit(0.0, day_start, sum(cheapest_in))
    return best_order


def nearest_neighbour(costs: _Costs, first: int) -> list[int]:
    """Greedy: from ``first``, always drive to the closest stop not yet visited."""
    n = len(costs.minutes)
    order, left = [first], set(range(n)) - {first}
    while left:
        here = order[-1]
        nearest = min(left, key=lambda j: (costs.cost(here, j), j))
        order.append(nearest)
        left.remove(nearest)
    return order


def two_opt(order: Sequence[int], stops: Sequence[Stop], costs: _Costs, day_start: datetime) -> list[int]:
    """2-opt local search: reverse ``order[i:j+1]`` while that shortens the path and keeps every window; a local optimum."""
    best = list(order)
    best_cost = costs.path(best)
    improved = True
    while improved:
        improved = False
        for i in range(len(best) - 1):
            for j in range(i + 1, len(best)):
                candidate = best[:i] + best[i : j + 1][::-1] + best[j + 1 :]
                cost = costs.path(candidate)
                if cost < best_cost - 1e-9 and _feasible(candidate, stops, costs, day_start):
                    best, best_cost, improved = candidate, cost, True
    return best


def _legs(order: Sequence[int], stops: Sequence[Stop], costs: _Costs, *, booked: bool) -> list[Leg]:
    legs = []
    for i, j in pairwise(order):
        origin, destination = stops[i], stops[j]
        minutes = costs.minutes[i][j]
        gap = math.floor((destination.starts_at - origin.ends_at).total_seconds() / 60) if booked else None
        legs.append(
            Leg(origin, destination, km=costs.km[i][j], minutes=minutes, gap_minutes=gap, too_tight=gap is not None and gap < minutes)
        )
    return legs


def plan_route(stops: Sequence[Stop]) -> Route:
    """The day as booked (legs with travel and tight gaps) and the order of the same stops that cuts travel most.

    ``stops`` may come in any order; they are put in booked order first.  Never raises: with no
    feasible reorder (windows too tight) the suggestion is the booked order.
    """
    booked = sorted(stops, key=lambda s: (s.starts_at, s.key))
    costs = _Costs(booked)
    identity = list(range(len(booked)))
    travel = sum(costs.minutes[i][j] for i, j in pairwise(identity))
    order, method = identity, "none"
    if len(booked) >= 3:
        day_start = booked[0].starts_at
        if len(booked) <= int(_figures()["EXACT_MAX_STOPS"]):
            method = "exact"
            found = exact_order(booked, costs, day_start)
            candidates = [found] if found is not None else []
        else:
            method = "2-opt"
            starts = [identity, nearest_neighbour(costs, 0)]
            candidates = [two_opt(o, booked, costs, day_start) for o in starts if _feasible(o, booked, costs, day_start)]
        for candidate in candidates:
            if costs.path(candidate) < costs.path(order) - 1e-9:
                order = candidate
    suggested_travel = sum(costs.minutes[i][j] for i, j in pairwise(order))
    if suggested_travel >= travel:  # a tie (or a km-only gain) is not worth a phone call to a customer
        order, suggested_travel = identity, travel
    return Route(
        stops=booked,
        legs=_legs(identity, booked, costs, booked=True),
        travel_minutes=travel,
        suggested=[booked[i] for i in order],
        suggested_legs=_legs(order, booked, costs, booked=False),
        suggested_travel_minutes=suggested_travel,
        method=method,
    )
