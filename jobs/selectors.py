"""Read-side queries for jobs, leads, bids and profiles.

The jobs board reads its read model (``JobBoardEntry``); pages about one's own
jobs, leads and bids read the write model, filtered by who is asking.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, QuerySet
from django.db.models.functions import ACos, Cos, Greatest, Least, Radians, Sin

from marketplace.accounts.models import User

from . import signals
from .models import Bid, Job, JobBoardEntry, Lead, ProStats, Trade, TradespersonProfile, average_response_minutes

EARTH_RADIUS_KM = 6371.0088


# --- jobs -------------------------------------------------------------------------------


def jobs_for_customer(*, customer: User) -> QuerySet[Job]:
    return Job.objects.filter(customer=customer).select_related("trade")


def job_for_viewer(*, user: User, job_id: int) -> Job | None:
    """The job if ``user`` may see its details: its customer, staff, or a tradesperson with a lead for it."""
    if not user.is_authenticated:
        return None
    jobs = Job.objects.select_related("trade", "customer")
    if user.is_staff:
        return jobs.filter(pk=job_id).first()
    if user.is_tradesperson:
        return jobs.filter(pk=job_id, leads__tradesperson=user).first()
    return jobs.filter(pk=job_id, customer=user).first()


def job_visible_to(*, user: User, job_id: int) -> bool:
    return job_for_viewer(user=user, job_id=job_id) is not None


@dataclass(frozen=True)
class BoardFilters:
    query: str = ""
    trade: str = ""
    near: tuple[float, float] | None = None
    max_km: float | None = None
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    emergency_only: bool = False


def _distance_km(lat: float, lon: float) -> ExpressionWrapper:
    # Spherical law of cosines in SQL; Least/Greatest keep acos inside its domain.
    inner = Cos(Radians(lat)) * Cos(Radians(F("latitude"))) * Cos(Radians(F("longitude")) - Radians(lon)) + Sin(Radians(lat)) * Sin(
        Radians(F("latitude"))
    )
    return ExpressionWrapper(ACos(Least(Greatest(inner, -1.0), 1.0)) * EARTH_RADIUS_KM, output_field=FloatField())


def board(*, filters: BoardFilters) -> QuerySet[JobBoardEntry]:
    """Open jobs on the board, searched (Postgres full text) and filtered."""
    rows = JobBoardEntry.objects.filter(status=Job.Status.OPEN)
    if filters.trade:
        rows = rows.filter(trade_slug=filters.trade)
    if filters.emergency_only:
        rows = rows.filter(is_emergency=True)
    if filters.budget_min is not None:
        rows = rows.filter(budget_max__gte=filters.budget_min)
    if filters.budget_max is not None:
        rows = rows.filter(budget_min__lte=filters.budget_max)
    if filters.near is not None:
        rows = rows.annotate(distance_km=_distance_km(*filters.near))
        if filters.max_km is not None:
            rows = rows.filter(distance_km__lte=filters.max_km)
    if filters.query:
        query = SearchQuery(filters.query, search_type="websearch", config="english")
        rows = rows.filter(search=query).annotate(rank=SearchRank(F("search"), query)).order_by("-rank", "-posted_at")
    elif filters.near is not None:
        rows = rows.order_by("-is_emergency", "distance_km")
    return rows


def board_entries(*, status: str = "open") -> QuerySet[JobBoardEntry]:
    return JobBoardEntry.objects.filter(status=status)


# --- profiles and matching --------------------------------------------------------------


# Kilometres per degree of latitude, rounded down: a great-circle distance is at least this times the
# difference in latitude, so the band below never drops a tradesperson who is within reach.
KM_PER_DEGREE_LATITUDE = Decimal("111.0")


@dataclass(frozen=True)
class MatchCandidate:
    """A tradesperson matching could offer a job to: where they work from, how far they go, and their stats
    (rating and mean response time; None for someone without reviews or bids yet)."""

    user_id: int
    service_radius_km: int
    base_latitude: Decimal
    base_longitude: Decimal
    rating_average: Decimal | None
    response_minutes: float | None


@functools.cache
def _match_candidates_sql() -> str:
    """Built from the models' own table and column names, once per process."""
    through = TradespersonProfile.trades.through._meta
    profile, lead, stats = TradespersonProfile._meta, Lead._meta, ProStats._meta
    return f"""
        SELECT p.user_id, p.service_radius_km, p.base_latitude, p.base_longitude,
               s.rating_average, s.bids_placed, s.response_seconds_total
        FROM {profile.db_table} p
        JOIN {through.db_table} t ON t.{through.get_field("tradespersonprofile").column} = p.id
        JOIN {User._meta.db_table} u ON u.id = p.user_id
        LEFT JOIN {stats.db_table} s ON s.tradesperson_id = p.user_id
        WHERE t.{through.get_field("trade").column} = %(trade_id)s
          AND p.is_accepting_leads AND u.is_active
          AND abs(p.base_latitude - %(latitude)s) <= p.service_radius_km * %(degrees_per_km)s
          AND p.user_id <> %(customer_id)s
          AND NOT EXISTS (SELECT 1 FROM {lead.db_table} l WHERE l.job_id = %(job_id)s AND l.tradesperson_id = p.user_id)
    """


def match_candidates(*, job: Job, radius_factor: float = 1.0) -> list[MatchCandidate]:
    """Tradespeople of the job's trade who accept leads, are active, are not its customer and were not
    offered it yet, and whose service radius (times ``radius_factor``) reaches the job's latitude: a band,
    so matching never loads a whole country's tradespeople to measure distances in Python (the exact
    distance check stays with the caller).  With their ProStats, in one statement.

    Plain SQL: this runs for every posted job on the lead's critical path, and the ORM spent more CPU
    compiling its four queries than Postgres spent running them (BENCHMARKS.md).
    """
    params: dict[str, int | Decimal] = {
        "trade_id": job.trade_id,
        "latitude": job.latitude,
        "degrees_per_km": Decimal(str(radius_factor)) / KM_PER_DEGREE_LATITUDE,
        "customer_id": job.customer_id,
        "job_id": job.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(_match_candidates_sql(), params)
        rows = cursor.fetchall()
    return [
        MatchCandidate(
            user_id=user_id,
            service_radius_km=radius,
            base_latitude=latitude,
            base_longitude=longitude,
            rating_average=rating,
            response_minutes=average_response_minutes(seconds, bids),
        )
        for user_id, radius, latitude, longitude, rating, bids, seconds in rows
    ]


def pro_is_available(*, profile: TradespersonProfile | MatchCandidate, job: Job) -> bool:
    """Whether the tradesperson's business has room in the job's preferred window.

    A job with no window counts as available.  Otherwise this reads scheduling's capacity
    read model (:func:`scheduling.capacity.pro_has_capacity`, answering ``jobs.signals.capacity_asked``): at least one active worker needs
    a free stretch of ``CAPACITY_MIN_FREE_MINUTES`` (an hour) inside the window, free meaning
    working hours minus appointments, their travel buffers and time off; so a fully booked
    tradesperson is not offered leads for that window.  A business with no active workers
    counts as available, and so does a worker day not projected yet (plain hours).
    The model is eventually consistent: a booking made moments ago may not be counted yet.
    """
    if job.window_start is None or job.window_end is None:
        return True
    return signals.has_capacity(owner_id=profile.user_id, window_start=job.window_start, window_end=job.window_end)


def pro_stats(*, user_id: int) -> ProStats | None:
    return ProStats.objects.filter(tradesperson_id=user_id).first()


def public_profile(*, user_id: int) -> TradespersonProfile | None:
    return TradespersonProfile.objects.filter(user_id=user_id, user__is_active=True).prefetch_related("trades").first()


# --- leads and bids ---------------------------------------------------------------------


def leads_for(*, tradesperson: User) -> QuerySet[Lead]:
    return Lead.objects.filter(tradesperson=tradesperson).select_related("job", "job__trade")


def bids_for_job(*, job: Job, viewer: User) -> QuerySet[Bid]:
    """All bids for the job's customer (and staff); only their own for a tradesperson."""
    bids = Bid.objects.filter(job=job).select_related("tradesperson", "tradesperson__pro_profile")
    if viewer.is_staff or job.customer_id == viewer.pk:
        return bids
    return bids.filter(tradesperson=viewer)


def bid_for_viewer(*, user: User, bid_id: int) -> Bid | None:
    """A bid its tradesperson, the job's customer, or staff may act on (services decide what they may do)."""
    bids = Bid.objects.select_related("job")
    if user.is_staff:
        return bids.filter(pk=bid_id).first()
    return bids.filter(Q(tradesperson=user) | Q(job__customer=user), pk=bid_id).first()


def bids_of(*, tradesperson: User) -> QuerySet[Bid]:
    return Bid.objects.filter(tradesperson=tradesperson).select_related("job", "job__trade")


# --- API read helpers (appended) --------------------------------------------------------


def trades_all() -> QuerySet[Trade]:
    return Trade.objects.all()


def bid_counts(*, job_ids: list[int]) -> dict[int, int]:
    """Bids that are not withdrawn, per job (what a customer counts as "quotes received")."""
    rows = (
        Bid.objects.filter(job_id__in=job_ids)
        .exclude(status=Bid.Status.WITHDRAWN)
        .values("job_id")
        .annotate(n=Count("pk"))
        .values_list("job_id", "n")
    )
    return dict(rows)
