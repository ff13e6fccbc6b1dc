"""Read-side queries for jobs, leads, bids and profiles.

The jobs board reads its read model (``JobBoardEntry``); pages about one's own
jobs, leads and bids read the write model, filtered by who is asking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, QuerySet
from django.db.models.functions import ACos, Cos, Greatest, Least, Radians, Sin

from marketplace.accounts.models import User

from .models import Bid, Job, JobBoardEntry, Lead, ProStats, Trade, TradespersonProfile

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
def pro_stats(*, user_id: int) -> ProStats | None:
    return ProStats.objects.filter(tradesperson_id=user_id).first()


def public_profile(*, user_id: int) -> TradespersonProfile | None:
    return TradespersonProfile.objects.filter(user_id=user_id, user__is_active=True).prefetch_related("trades").first()


def business_name(*, user_id: int) -> str:
    """A tradesperson's business name as customers read it ("" without a profile)."""
    return TradespersonProfile.objects.filter(user_id=user_id).values_list("business_name", flat=True).first() or ""


# --- leads and bids ---------------------------------------------------------------------


def leads_for(*, tradesperson: User) -> QuerySet[Lead]:
    return Lead.objects.filter(tradesperson=tradesperson).select_related("job", "job__trade")


def lead_job_ids(*, tradesperson: User, job_ids: Iterable[int]) -> set[int]:
    """Which of these jobs were offered to the tradesperson as a lead."""
    return set(Lead.objects.filter(tradesperson=tradesperson, job_id__in=list(job_ids)).values_list("job_id", flat=True))


def bids_by_job(*, tradesperson: User, job_ids: Iterable[int]) -> dict[int, Bid]:
    """{job id: the tradesperson's bid} for those of these jobs they bid on."""
    return {bid.job_id: bid for bid in bids_of(tradesperson=tradesperson).filter(job_id__in=list(job_ids))}


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
