"""Reading reviews and rating summaries.

Reviews are public to every signed-in user once posted, except hidden ones, which only staff and the
two parties (the customer who wrote it, the tradesperson it is about) still see.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jobs.models import Job
from marketplace.accounts.models import User

from .models import ASPECTS, RatedReview, RatingSummary, Review

TREND_DAYS = 30
CENT = Decimal("0.01")


def average(total: int | None, count: int) -> Decimal | None:
    """``total / count`` to two places, half up (as Postgres rounds numerics); None for no reviews."""
    if not count:
        return None
    return (Decimal(total or 0) / Decimal(count)).quantize(CENT, rounding=ROUND_HALF_UP)


def _reviews() -> QuerySet[Review]:
    return Review.objects.select_related("job", "job__trade", "customer", "tradesperson")


def reviews_written_by(customer: User) -> QuerySet[Review]:
    """Every review ``customer`` wrote, hidden ones included (for staff views such as the customer 360), newest first."""
    return _reviews().filter(customer=customer)


def reviews_for_pro(user: User | int, *, include_hidden: bool = False) -> QuerySet[Review]:
    """The reviews of a tradesperson's work, newest first; visible ones only unless ``include_hidden``."""
    rows = _reviews().filter(tradesperson_id=user if isinstance(user, int) else user.pk)
    return rows if include_hidden else rows.filter(is_hidden=False)


def reviews_for_viewer(*, pro_id: int, viewer: User) -> QuerySet[Review]:
    """A tradesperson's reviews as ``viewer`` may see them: hidden ones only for staff and the tradesperson."""
    return reviews_for_pro(pro_id, include_hidden=bool(viewer.is_staff or viewer.pk == pro_id))


def review_for_viewer(*, viewer: User, review_id: int) -> Review | None:
    if not viewer.is_authenticated:
        return None
    rows = _reviews().filter(pk=review_id)
    if not viewer.is_staff:
        rows = rows.filter(Q(is_hidden=False) | Q(customer=viewer) | Q(tradesperson=viewer))
    return rows.first()


def review_of_job(job: Job) -> Review | None:
    return Review.objects.filter(job=job).first()


def _trend(pro_id: int) -> dict[str, Any]:
    now = timezone.now()
    recent_from, previous_from = now - timedelta(days=TREND_DAYS), now - timedelta(days=2 * TREND_DAYS)
    rows = RatedReview.objects.filter(tradesperson_id=pro_id, hidden=False)
    agg = rows.aggregate(
        recent_n=Count("pk", filter=Q(posted_at__gte=recent_from)),
        recent_sum=Sum("rating", filter=Q(posted_at__gte=recent_from)),
        previous_n=Count("pk", filter=Q(posted_at__gte=previous_from, posted_at__lt=recent_from)),
        previous_sum=Sum("rating", filter=Q(posted_at__gte=previous_from, posted_at__lt=recent_from)),
    )
    recent, previous = average(agg["recent_sum"], agg["recent_n"]), average(agg["previous_sum"], agg["previous_n"])
    change = recent - previous if recent is not None and previous is not None else None
    direction = "flat" if change is None or change == 0 else ("up" if change > 0 else "down")
    return {
        "days": TREND_DAYS,
        "recent": {"count": agg["recent_n"], "average": recent},
        "previous": {"count": agg["previous_n"], "average": previous},
        "change": change,
        "direction": direction,
    }


def summary_body(pro_id: int) -> dict[str, Any]:
    """The rating summary of a tradesperson as the API and the live pushes show it (zeros before any review).

    Count, average, distribution and aspect averages come from the ``ratings`` read model; the trend
    (last 30 days against the 30 before) is computed when asked, since it moves with the clock.
    """
    summary = RatingSummary.objects.filter(tradesperson_id=pro_id).first() or RatingSummary(tradesperson_id=pro_id)
    return {
        "tradesperson_id": pro_id,
        "count": summary.count,
        "average": summary.average,
        "distribution": summary.distribution,
        "aspects": summary.aspect_averages,
        "trend": _trend(pro_id),
    }


def summary_from_reviews(pro_id: int) -> dict[str, Any]:
    """The same numbers computed straight from the write model (for checks and the admin)."""
    rows = Review.objects.filter(tradesperson_id=pro_id, is_hidden=False)
    agg = rows.aggregate(
        n=Count("pk"),
        total=Sum("rating"),
        **{f"s{n}": Count("pk", filter=Q(rating=n)) for n in range(1, 6)},
        **{a: Sum(a) for a in ASPECTS},
    )
    return {
        "count": agg["n"],
        "average": average(agg["total"], agg["n"]),
        "distribution": {str(n): agg[f"s{n}"] for n in range(1, 6)},
        "aspects": {a: average(agg[a], agg["n"]) for a in ASPECTS},
    }
