"""Read-side queries for jobs, leads, bids and profiles.

The jobs board reads its read model (``JobBoardEntry``); pages about one's own
jobs, leads and bids read the write model, filtered by who is asking.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, ExpressionWrapper, F, FloatField, Prefetch, Q, QuerySet
from django.db.models.functions import ACos, Cos, Greatest, Least, Radians, Sin
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.moderation import Moderation

from .models import Bid, Credential, Job, JobBoardEntry, JobPhoto, Lead, PortfolioPhoto, ProStats, Trade, TradeQuestion, TradespersonProfile
from .roles import JobRole, job_role

EARTH_RADIUS_KM = 6371.0088


# --- jobs -------------------------------------------------------------------------------


def jobs_for_customer(*, customer: User) -> QuerySet[Job]:
    """The customer's jobs, newest first.

    The order is explicit: ``Meta.ordering`` is dropped from a query with an aggregate (``My jobs``
    counts bids), which then listed oldest first.
    """
    return Job.objects.filter(customer=customer).select_related("trade").order_by("-created_at", "-pk")


def invited_count(*, job: Job) -> int:
    """How many tradespeople the job is offered to now (live leads): all its customer learns about them
    until they bid (who they are and how far away stays with matching)."""
    return Lead.objects.filter(job=job, withdrawn_at__isnull=True).count()


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


def public_board_entries() -> QuerySet[JobBoardEntry]:
    """Open jobs the public may see listed (the home page): only titles that passed moderation (rules or staff)."""
    approved = Job.objects.filter(moderation_status=Moderation.APPROVED).values("pk")
    return board_entries().filter(job_id__in=approved)


# --- profiles and matching --------------------------------------------------------------


# Kilometres per degree of latitude, rounded down: a great-circle distance is at least this times the
# difference in latitude, so the band below never drops a tradesperson who is within reach.
def pro_stats(*, user_id: int) -> ProStats | None:
    return ProStats.objects.filter(tradesperson_id=user_id).first()


def public_profile(*, user_id: int, viewer: User | AnonymousUser | None = None) -> TradespersonProfile | None:
    """The tradesperson's public profile; one waiting for a check (or hidden by staff) only for its owner and staff."""
    rows = TradespersonProfile.objects.filter(user_id=user_id, user__is_active=True).prefetch_related("trades")
    if viewer is None or not (viewer.is_staff or viewer.pk == user_id):
        rows = rows.filter(moderation_status=Moderation.APPROVED)
    return rows.first()


# --- photos -----------------------------------------------------------------------------

# Who sees a job's photos: the two parties, the tradespeople it was offered to (to quote from them)
# and staff (disputes). Not the public: a photo shows the inside of someone's home.
PHOTO_VIEWERS = frozenset({JobRole.CUSTOMER, JobRole.TRADESPERSON, JobRole.BIDDER, JobRole.STAFF})


def visible_job_photo(*, user: User | AnonymousUser, photo_id: int) -> JobPhoto | None:
    """The job photo if ``user`` may see it (``PHOTO_VIEWERS``), else None: the caller answers 404 either way."""
    photo = JobPhoto.objects.select_related("job").filter(pk=photo_id).first()
    if photo is None or job_role(user, photo.job) not in PHOTO_VIEWERS:
        return None
    return photo


def public_portfolio_photo(*, photo_id: int) -> PortfolioPhoto | None:
    """A portfolio photo: public, as its profile page is (none for a deactivated account)."""
    return PortfolioPhoto.objects.filter(pk=photo_id, profile__user__is_active=True).first()


def portfolio(*, profile: TradespersonProfile) -> list[PortfolioPhoto]:
    return list(profile.portfolio.all())


def live_credentials(*, on: date | None = None) -> QuerySet[Credential]:
    """Credentials that give a badge: verified, and ``expires_on`` is ``on`` (default: today in the UK) or later."""
    return Credential.objects.filter(status=Credential.Status.VERIFIED, expires_on__gte=on or timezone.localdate())


def is_insured(*, profile: TradespersonProfile, on: date | None = None) -> bool:
    """Whether the profile's "Insured" mark shows: staff ticked it in admin, or a public liability insurance
    credential is verified and unexpired (the same rule as its badge), so the two never disagree on one page."""
    if profile.is_insured:
        return True
    return live_credentials(on=on).filter(profile=profile, kind=Credential.Kind.PUBLIC_LIABILITY).exists()


@dataclass(frozen=True)
class Badge:
    """A credential as the public sees it: what it is, its number (public registers list it) and its expiry month."""

    credential_id: int
    kind: str
    label: str
    number: str
    expires_on: date

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "label": self.label,
            "number": self.number,
            "expires_on": self.expires_on.isoformat(),
            "expires": self.expires_on.strftime("%B %Y"),
        }


def badges_for(*, profile_ids: Iterable[int], on: date | None = None) -> dict[int, list[Badge]]:
    """{profile id: its badges, by kind}, in one query (index ``credential_badge_idx``)."""
    result: dict[int, list[Badge]] = {pk: [] for pk in profile_ids}
    rows = live_credentials(on=on).filter(profile_id__in=list(result)).order_by("profile_id", "kind", "-expires_on")
    for c in rows:
        result[c.profile_id].append(Badge(c.pk, c.kind, c.get_kind_display(), c.number, c.expires_on))
    return result


def credentials_of(*, user: User) -> QuerySet[Credential]:
    """The tradesperson's own credentials, every status (their credentials page)."""
    return Credential.objects.filter(profile__user=user).order_by("status", "kind", "-expires_on")


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
    """Every trade, with its questions and their choices in the order asked."""
    questions = TradeQuestion.objects.select_related("show_if_question").prefetch_related("choices").order_by("position", "pk")
    return Trade.objects.prefetch_related(Prefetch("questions", queryset=questions))


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
