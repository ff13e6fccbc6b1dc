"""Reading reviews and rating summaries.

Reviews are public to every signed-in user once posted, except hidden ones, which only staff and the
two parties (the customer who wrote it, the tradesperson it is about) still see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jobs.models import Job, TradespersonProfile
from marketplace.accounts.models import User
from marketplace.moderation import Moderation

from .models import ASPECTS, RatedReview, RatingSummary, Report, Review, Target

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


# --- the moderation queue ------------------------------------------------------------------

QUEUE_LIMIT = 100


@dataclass(frozen=True)
class QueueItem:
    """One row of the staff moderation queue: a review, a reply or a profile, why it is there, and its open reports."""

    target: str
    object_id: int
    tradesperson: str
    text: str
    status: str
    flags: str
    reports: list[Report]
    at: datetime
    link: str

    @property
    def label(self) -> str:
        return Target(self.target).label

    @property
    def key(self) -> str:
        return f"{self.target}:{self.object_id}"


def moderation_queue(*, hidden: bool = False) -> list[QueueItem]:
    """Pending and reported reviews, replies and profiles, oldest first (``hidden``: what staff hid, newest first).

    Four queries: the reviews, the profiles, and the open reports of each.
    """
    open_reports = Report.objects.filter(resolved_at__isnull=True).select_related("reporter")
    if hidden:
        review_q, reply_q, profile_q = (
            Q(moderation_status=Moderation.REJECTED),
            Q(reply_status=Moderation.REJECTED),
            Q(moderation_status=Moderation.REJECTED),
        )
    else:
        reported = open_reports.values("review_id")
        review_q = Q(moderation_status=Moderation.PENDING) | Q(pk__in=reported.filter(target=Target.REVIEW))
        reply_q = Q(reply_status=Moderation.PENDING, replied_at__isnull=False) | Q(pk__in=reported.filter(target=Target.REPLY))
        profile_q = Q(moderation_status=Moderation.PENDING) | Q(pk__in=open_reports.filter(target=Target.PROFILE).values("profile_id"))
    reviews = list(_reviews().filter(review_q | reply_q)[:QUEUE_LIMIT])
    profiles = list(TradespersonProfile.objects.select_related("user").filter(profile_q)[:QUEUE_LIMIT])
    by_item: dict[str, list[Report]] = {}
    for report in open_reports.select_related("profile").filter(Q(review__in=reviews) | Q(profile__in=profiles)):
        key = f"profile:{report.profile.user_id}" if report.profile is not None else f"{report.target}:{report.review_id}"
        by_item.setdefault(key, []).append(report)
    items: list[QueueItem] = []
    for review in reviews:
        who = str(review.tradesperson)
        link = f"/pros/{review.tradesperson_id}/"
        if review_q_matches(review, Target.REVIEW, hidden, by_item):
            items.append(
                QueueItem(
                    Target.REVIEW,
                    review.pk,
                    who,
                    review.comment,
                    review.moderation_status,
                    review.moderation_flags or review.moderation_reason,
                    by_item.get(f"review:{review.pk}", []),
                    review.created_at,
                    link,
                )
            )
        if review.replied_at and review_q_matches(review, Target.REPLY, hidden, by_item):
            items.append(
                QueueItem(
                    Target.REPLY,
                    review.pk,
                    who,
                    review.reply,
                    review.reply_status,
                    review.reply_flags,
                    by_item.get(f"reply:{review.pk}", []),
                    review.replied_at,
                    link,
                )
            )
    for profile in profiles:
        text = f"{profile.business_name}\n{profile.bio}".strip()
        key = f"profile:{profile.user_id}"
        items.append(
            QueueItem(
                Target.PROFILE,
                profile.user_id,
                str(profile.user),
                text,
                profile.moderation_status,
                profile.moderation_flags,
                by_item.get(key, []),
                profile.created_at,
                f"/pros/{profile.user_id}/",
            )
        )
    items.sort(key=lambda item: item.at, reverse=hidden)
    return items


def review_q_matches(review: Review, target: str, hidden: bool, by_item: dict[str, list[Report]]) -> bool:
    """Whether the review's comment (``review``) or reply (``reply``) itself belongs in the queue, not just its sibling."""
    status = review.moderation_status if target == Target.REVIEW else review.reply_status
    if hidden:
        return status == Moderation.REJECTED
    return status == Moderation.PENDING or f"{target}:{review.pk}" in by_item
