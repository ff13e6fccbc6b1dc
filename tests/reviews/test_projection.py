"""The ``ratings`` consumer with the real broker: summaries follow reviews and moderation, are idempotent under
redelivery and replay, equal a direct SQL computation over the reviews after a random workload, and feed matching."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.utils import timezone

from jobs.models import ProStats
from marketplace.accounts.models import User
from marketplace.asgi import application
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild
from marketplace.notifications.models import Notification
from marketplace.realtime.streams import can_subscribe
from matching.projections import find_candidates
from matching.ranking import rank
from reviews.models import ASPECTS, RatedReview, RatingSummary
from reviews.selectors import summary_body, summary_from_reviews
from reviews.services import review_moderate, review_reply
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import post_job, pro

from .helpers import completed_job, review

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = get_consumer("ratings")


def consume_all(group: str | None = None) -> None:
    """Publish the outbox and run the ratings consumer until it has applied every review event."""
    relay_all()
    wanted = OutboxEvent.objects.filter(event_type__startswith="review.").count()
    run_consumer_until(
        lambda: ProcessedEvent.objects.filter(consumer="ratings", event_type__startswith="review.").count() >= wanted, SPEC, group=group
    )


def snapshot() -> dict[str, Any]:
    rows = RatingSummary.objects.order_by("tradesperson_id")
    summaries = {s.tradesperson_id: (s.count, s.average, s.distribution, s.aspect_averages) for s in rows}
    stats = list(ProStats.objects.order_by("tradesperson_id").values_list("tradesperson_id", "rating_average", "rating_count"))
    return {"summaries": summaries, "stats": stats}


def aspects(p: int, q: int, v: int, c: int) -> dict[str, int]:
    return dict(zip(ASPECTS, (p, q, v, c), strict=True))


def test_the_summary_follows_reviews_and_moderation_and_feeds_matching(broker, customer: User, other_customer: User) -> None:
    bob, zed = pro("bob"), pro("zed")
    staff = User.objects.create_user("mod", password="x", is_staff=True)
    jobs = [completed_job(customer, bob, title=f"Job {i}") for i in range(3)]
    review(jobs[0], customer, rating=5, aspects=aspects(5, 5, 4, 5))
    review(jobs[1], customer, rating=4, aspects=aspects(4, 4, 4, 3))
    low = review(jobs[2], customer, rating=2, aspects=aspects(1, 2, 3, 2))
    consume_all()

    summary = summary_body(bob.pk)
    assert summary["count"] == 3 and summary["average"] == Decimal("3.67")
    assert summary["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert summary["aspects"] == dict(zip(ASPECTS, map(Decimal, ["3.33", "3.67", "3.67", "3.33"]), strict=True))
    assert summary["trend"]["recent"] == {"count": 3, "average": Decimal("3.67")} and summary["trend"]["previous"]["count"] == 0
    assert ProStats.objects.values_list("rating_average", "rating_count").get(tradesperson_id=bob.pk) == (Decimal("3.67"), 3)

    # Hiding the 2-star review takes it out of the summary (and out of what matching sees); a reply changes nothing.
    review_moderate(review=low, moderator=staff, hide=True, reason="Not about the work")
    review_reply(review=low, actor=bob, reply="Sorry to hear that")
    consume_all()
    assert (summary_body(bob.pk)["count"], summary_body(bob.pk)["average"]) == (2, Decimal("4.50"))
    assert ProStats.objects.values_list("rating_average", "rating_count").get(tradesperson_id=bob.pk) == (Decimal("4.50"), 2)

    # The tradesperson heard about each review once, the customer about the reply.
    assert Notification.objects.filter(recipient=bob, kind="review_posted").count() == 3
    assert Notification.objects.filter(recipient=customer, kind="review_replied").count() == 1

    # Matching ranks by the new rating: bob (4.5) ahead of zed (no reviews: the default), same distance.
    job = post_job(other_customer, title="Another tap")
    candidates = {c.profile.user_id: c for c in find_candidates(job, 1.0)}
    assert candidates[bob.pk].rating == 4.5 and candidates[zed.pk].rating is None
    ranked = rank(list(candidates.values()), emergency=False, limit=5)
    assert ranked[0][0].profile.user_id == bob.pk

    # Rebuilding pro-stats (its own counters) leaves the rating columns, which belong to this consumer, alone.
    rebuild(get_consumer("pro-stats"), source="outbox")
    assert ProStats.objects.values_list("rating_average", "rating_count").get(tradesperson_id=bob.pk) == (Decimal("4.50"), 2)

    # Anyone signed in may watch a public profile live; nobody anonymous.
    assert can_subscribe(other_customer, f"pro.{bob.pk}") and can_subscribe(zed, f"pro.{bob.pk}")
    from django.contrib.auth.models import AnonymousUser

    assert not can_subscribe(AnonymousUser(), f"pro.{bob.pk}") and not can_subscribe(zed, "pro.abc")  # type: ignore[arg-type]


def test_redelivery_and_replay_rebuild_the_same_summaries(broker, customer: User) -> None:
    bob, zed = pro("bob"), pro("zed")
    staff = User.objects.create_user("mod", password="x", is_staff=True)
    r1 = review(completed_job(customer, bob, title="A"), customer, rating=3, aspects=aspects(3, 3, 3, 3))
    review(completed_job(customer, bob, title="B"), customer, rating=5, aspects=aspects(5, 4, 5, 5))
    review(completed_job(customer, zed, title="C"), customer, rating=1, aspects=aspects(1, 1, 2, 1))
    review_moderate(review=r1, moderator=staff, hide=True, reason="test")
    review_moderate(review=r1, moderator=staff, hide=False, reason="restored")
    consume_all()
    first = snapshot()
    assert first["summaries"][bob.pk][:2] == (2, Decimal("4.00")) and first["summaries"][zed.pk][:2] == (1, Decimal("1.00"))

    # Every event again (a group that lost its inbox): the same numbers, nothing counted twice.
    notified = Notification.objects.count()
    ProcessedEvent.objects.filter(consumer="ratings").delete()
    consume_all(group="ratings-again")
    assert snapshot() == first and Notification.objects.count() == notified

    # Rebuild from scratch, from Kafka and from the outbox: the same numbers again.
    for source in ("kafka", "outbox"):
        RatingSummary.objects.update(count=99, average=Decimal("1.11"))
        result = rebuild(SPEC, source=source)
        assert result.applied >= 5, result
        assert snapshot() == first, source

    # A stale event (lower sequence than the one applied) is ignored: the review stays visible.
    row = RatedReview.objects.get(review_id=r1.pk)
    assert row.hidden is False and row.last_sequence > 0


def test_summaries_equal_a_direct_sql_computation_after_a_random_workload(broker) -> None:
    rng = random.Random(7)
    pros = [pro(f"pro{i}") for i in range(3)]
    customers = [User.objects.create_user(f"c{i}", password="x", role=User.Role.CUSTOMER) for i in range(3)]
    staff = User.objects.create_user("mod", password="x", is_staff=True)
    reviews = []
    for i in range(12):
        who = rng.choice(customers)
        job = completed_job(who, rng.choice(pros), title=f"Job {i}")
        reviews.append(review(job, who, rating=rng.randint(1, 5), aspects=aspects(*(rng.randint(1, 5) for _ in ASPECTS))))
    for r in rng.sample(reviews, 5):
        review_moderate(review=r, moderator=staff, hide=True, reason="random")
    for r in rng.sample(reviews, 3):
        review_moderate(review=r, moderator=staff, hide=False, reason="random")
    consume_all()

    columns = ", ".join(f"ROUND(AVG({a})::numeric, 2)" for a in ASPECTS)
    stars = ", ".join(f"COUNT(*) FILTER (WHERE rating = {n})" for n in range(1, 6))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT tradesperson_id, COUNT(*), ROUND(AVG(rating)::numeric, 2), {stars}, {columns}
                FROM reviews_review WHERE NOT is_hidden GROUP BY tradesperson_id"""
        )
        expected = {row[0]: row[1:] for row in cursor.fetchall()}
    for p in pros:
        summary = RatingSummary.objects.filter(tradesperson_id=p.pk).first()
        got = (
            (summary.count, summary.average, *(summary.distribution[str(n)] for n in range(1, 6)), *summary.aspect_averages.values())
            if summary and summary.count
            else None
        )
        assert got == expected.get(p.pk), p.username
        assert summary_from_reviews(p.pk)["average"] == (summary.average if summary else None)
        stats = ProStats.objects.filter(tradesperson_id=p.pk).values_list("rating_average", "rating_count").first()
        assert stats == ((summary.average, summary.count) if summary else None)


def test_the_trend_compares_the_last_30_days_with_the_30_before(db, customer: User) -> None:
    bob = pro("bob")
    now = timezone.now()
    for i, (rating, days_ago) in enumerate([(5, 2), (4, 10), (2, 40), (3, 50), (1, 70)]):
        RatedReview.objects.create(
            review_id=1000 + i, job_id=1, tradesperson_id=bob.pk, rating=rating, punctuality=3, quality=3, value=3, communication=3,
            posted_at=now - timedelta(days=days_ago), last_sequence=1,
        )  # fmt: skip
    trend = summary_body(bob.pk)["trend"]
    assert trend["recent"] == {"count": 2, "average": Decimal("4.50")} and trend["previous"] == {"count": 2, "average": Decimal("2.50")}
    assert trend["change"] == Decimal("2.00") and trend["direction"] == "up"


def test_the_public_profile_stream_gets_the_summary_and_never_a_hidden_reviews_reply(broker, customer: User, other_customer: User) -> None:
    bob = pro("bob")
    staff = User.objects.create_user("mod", password="x", is_staff=True)
    job = completed_job(customer, bob)

    def act() -> None:
        posted = review(job, customer, rating=3)
        consume_all()
        review_moderate(review=posted, moderator=staff, hide=True, reason="Personal details")
        review_reply(review=posted, actor=bob, reply="Call me on my private number")
        consume_all()
        connection.close()

    async def scenario() -> list[dict[str, Any]]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = other_customer
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"pro.{bob.pk}"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(act, thread_sensitive=False)()
        messages: list[dict[str, Any]] = []
        while len(messages) < 3:
            message = await ws.receive_json_from(timeout=5)
            if message.get("stream") == f"pro.{bob.pk}":
                messages.append(message)
        await ws.disconnect()
        return messages

    posted, hidden, replied = async_to_sync(scenario)()
    assert posted["event"] == "rating.updated"
    assert (posted["data"]["summary"]["count"], posted["data"]["summary"]["average"]) == (1, "3.00")
    assert hidden["event"] == "rating.updated" and hidden["data"]["summary"]["count"] == 0 and hidden["prev_seq"] == posted["seq"]
    assert replied["event"] == "review.replied" and "reply" not in replied["data"]
