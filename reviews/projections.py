"""The ``ratings`` consumer: rating summaries per tradesperson from ``review.*`` events, pushed live.

- Each ``review.posted`` / ``review.moderated`` upserts the review's :class:`~reviews.models.RatedReview`
  (ignoring an event older than the one already applied to that review), then recomputes the
  tradesperson's :class:`~reviews.models.RatingSummary` from those rows.  Recomputing instead of
  adding makes redelivery, out-of-order moderation and replay all land on the same numbers.
- It is the one writer of ``jobs.ProStats.rating_average`` / ``rating_count`` (matching ranks by them);
  the ``pro-stats`` consumer never touches those two columns, and its reset zeroes only its own.
- After commit it pushes ``rating.updated`` (the public summary) and ``review.replied`` to ``pro.<id>``,
  and notifies the tradesperson of a new review and the customer of a reply (once each: notifications dedupe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from django.db import connection
from django.db.models import Count, Q, Sum

from jobs.models import ProStats
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.notifications.services import notify
from marketplace.realtime.push import send_on_commit

from .events import ReviewAspects, ReviewModeratedV1, ReviewPostedV1, ReviewRepliedV1
from .models import ASPECTS, RatedReview, RatingSummary
from .selectors import average, summary_body
from .streams import pro_stream


class _RatedReviewData(TypedDict):
    """What review.posted and review.moderated both carry about the review, in full."""

    review_id: int
    job_id: int
    tradesperson_id: int
    rating: int
    aspects: ReviewAspects
    posted_at: str


# pg_advisory_xact_lock(class, id): one recompute at a time per tradesperson (their reviews span partitions).
LOCK_CLASS = 7301


def recompute_summary(pro_id: int) -> RatingSummary:
    """Rebuild one tradesperson's summary (and ProStats' rating columns) from the RatedReview rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, pro_id])
    agg = RatedReview.objects.filter(tradesperson_id=pro_id, hidden=False).aggregate(
        n=Count("pk"),
        total=Sum("rating"),
        **{f"s{n}": Count("pk", filter=Q(rating=n)) for n in range(1, 6)},
        **{a: Sum(a) for a in ASPECTS},
    )
    count = agg["n"]
    fields: dict[str, Any] = {
        "count": count,
        "average": average(agg["total"], count),
        **{f"stars_{n}": agg[f"s{n}"] for n in range(1, 6)},
        **{a: average(agg[a], count) for a in ASPECTS},
    }
    summary, _ = RatingSummary.objects.update_or_create(tradesperson_id=pro_id, defaults=fields)
    _write_pro_stats(pro_id, fields["average"], count)
    return summary


def _write_pro_stats(pro_id: int, rating_average: Any, rating_count: int) -> None:
    # Only the two rating columns: the pro-stats consumer owns (and concurrently bumps) the others.
    table = ProStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (tradesperson_id, leads_offered, leads_seen, bids_placed, jobs_won, response_seconds_total,
                                     no_shows, rating_average, rating_count)
                VALUES (%s, 0, 0, 0, 0, 0, 0, %s, %s)
                ON CONFLICT (tradesperson_id) DO UPDATE
                SET rating_average = EXCLUDED.rating_average, rating_count = EXCLUDED.rating_count""",
            [pro_id, rating_average, rating_count],
        )


class RatingsProjection(EventHandler):
    def reset(self) -> None:
        RatedReview.objects.all().delete()
        RatingSummary.objects.all().delete()
        ProStats.objects.exclude(rating_average__isnull=True, rating_count=0).update(rating_average=None, rating_count=0)

    def _apply(self, event: Envelope, *, hidden: bool) -> None:
        data = event.payload(_RatedReviewData)
        row = RatedReview.objects.select_for_update().filter(review_id=data["review_id"]).first()
        if row is not None and row.last_sequence >= event.sequence:
            return  # stale: a later step of this review is already applied
        aspects: Mapping[str, object] = data["aspects"]  # ASPECTS are its keys, as plain str: read it as a Mapping
        values = {
            "job_id": data["job_id"],
            "tradesperson_id": data["tradesperson_id"],
            "rating": data["rating"],
            **{a: aspects[a] for a in ASPECTS},
            "hidden": hidden,
            "posted_at": data["posted_at"],
            "last_sequence": event.sequence,
        }
        RatedReview.objects.update_or_create(review_id=data["review_id"], defaults=values)
        recompute_summary(data["tradesperson_id"])
        send_on_commit(
            pro_stream(data["tradesperson_id"]),
            event,
            {"review_id": data["review_id"], "summary": summary_body(data["tradesperson_id"])},
            name="rating.updated",
        )

    def on_review_posted(self, event: Envelope) -> None:
        data = event.payload(ReviewPostedV1)
        self._apply(event, hidden=bool(data.get("hidden", False)))
        notify(
            recipient_id=data["tradesperson_id"],
            kind="review_posted",
            title=f"New review: {data['rating']} star{'s' if data['rating'] != 1 else ''}",
            body=(data.get("comment") or "")[:200],
            url=f"/pros/{data['tradesperson_id']}/",
            object_key=f"review:{data['review_id']}",
        )

    def on_review_moderated(self, event: Envelope) -> None:
        self._apply(event, hidden=bool(event.payload(ReviewModeratedV1)["hidden"]))

    def on_review_replied(self, event: Envelope) -> None:
        data = event.payload(ReviewRepliedV1)
        hidden = RatedReview.objects.filter(review_id=data["review_id"], hidden=True).exists()
        # A hidden review's reply is not public either: say only that something changed.
        body = (
            {"review_id": data["review_id"]}
            if hidden
            else {"review_id": data["review_id"], "reply": data["reply"], "replied_at": data["replied_at"]}
        )
        send_on_commit(pro_stream(data["tradesperson_id"]), event, body)
        notify(
            recipient_id=data["customer_id"],
            kind="review_replied",
            title="The tradesperson replied to your review",
            body=data["reply"][:200],
            url=f"/jobs/{data['job_id']}/",
            object_key=f"review:{data['review_id']}",
        )
