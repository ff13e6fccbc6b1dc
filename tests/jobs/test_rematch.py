"""Matching keeps up with the job: an edit of its place or trade re-matches (leads that no longer fit are
withdrawn, live; new ones are offered), the last bid withdrawn widens the search at once, and a job never
has more live leads than the per-job cap, however often events are replayed.

The matching handler is fed the job's own outbox events (real Postgres, no broker: the pipeline itself is
covered by test_matching.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from jobs import services
from jobs.models import Bid, Job, JobBoardEntry, Lead, TradeActivity
from jobs.projections import JobBoardProjection
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.context import consuming
from marketplace.events.envelope import Envelope, from_dict
from marketplace.events.models import OutboxEvent
from marketplace.notifications.models import Notification
from marketplace.realtime import push
from matching.projections import MatchingHandler
from tests.factories import post_job, pro, trade

pytestmark = pytest.mark.django_db

ISLINGTON = (Decimal("51.53620"), Decimal("-0.10330"))
CAMBRIDGE = (Decimal("52.20530"), Decimal("0.12180"))


class Feed:
    """Applies each new outbox event of a job to the matching handler, as the ``matching`` consumer would."""

    def __init__(self, job: Job) -> None:
        self.job, self.seen, self.handler = job, 0, MatchingHandler()

    def events(self) -> list[Envelope]:
        rows = OutboxEvent.objects.filter(key=str(self.job.pk), topic="marketplace.jobs").order_by("id")
        return [from_dict(row.envelope) for row in rows if self.handler.handles(row.event_type)]

    def run(self) -> list[Envelope]:
        """Apply events until matching emits nothing new (a widening it emits is matched too)."""
        applied: list[Envelope] = []
        while True:
            fresh = self.events()[self.seen :]  # (what the handler ignores never counts)
            if not fresh:
                return applied
            self.seen += len(fresh)
            for event in fresh:
                with consuming("matching"):
                    self.handler.handle(event)
                applied.append(event)


def live(job: Job) -> set[str]:
    return set(Lead.objects.filter(job=job, withdrawn_at__isnull=True).values_list("tradesperson__username", flat=True))


def emitted(job: Job, event_type: str) -> list[dict[str, Any]]:
    return [row.envelope["data"] for row in OutboxEvent.objects.filter(key=str(job.pk), event_type=event_type).order_by("id")]


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    sent: list[tuple[str, str, dict[str, Any]]] = []

    def record(stream: str, event: Envelope, data: dict[str, Any], *, name: str | None = None) -> None:
        sent.append((stream, name or event.event_type, data))

    monkeypatch.setattr(push, "send_on_commit", record)
    return sent


def test_moving_the_job_withdraws_leads_that_no_longer_fit_offers_new_ones_and_tells_a_bidder(
    customer: User, pushes: list[tuple[str, str, dict[str, Any]]]
) -> None:
    plumbing = trade()
    near, bidder = pro("near", at=ISLINGTON), pro("bidder", at=ISLINGTON)
    far = pro("cambridge", at=CAMBRIDGE, radius=20)
    job = post_job(customer, trade=plumbing, latitude=ISLINGTON[0], longitude=ISLINGTON[1], place="Islington N1")
    feed = Feed(job)
    feed.run()
    assert live(job) == {"near", "bidder"}
    services.bid_place(job=job, tradesperson=bidder, amount=Decimal("150"))
    feed.run()

    services.job_update(job=job, actor=customer, latitude=CAMBRIDGE[0], longitude=CAMBRIDGE[1], place="Cambridge")
    assert emitted(job, "job.updated")[-1]["changed"] == ["latitude", "longitude", "place"]
    pushes.clear()
    feed.run()

    # The near pro's lead is withdrawn; the bidder keeps lead and bid, told; Cambridge's pro is offered the job.
    assert live(job) == {"bidder", "cambridge"}
    withdrawn = Lead.objects.get(job=job, tradesperson=near)
    assert withdrawn.withdrawn_at is not None and withdrawn.withdrawn_reason == Lead.WithdrawnReason.JOB_CHANGED
    assert [(d["tradesperson_id"], d["reason"]) for d in emitted(job, "lead.withdrawn")] == [(near.pk, "job_changed")]
    assert Bid.objects.get(job=job, tradesperson=bidder).status == Bid.Status.ACTIVE
    told = Notification.objects.get(recipient=bidder, title__startswith="The job you bid on changed")
    assert "Your bid stands" in told.body and "Cambridge" in told.body
    assert Notification.objects.filter(recipient=near, kind="lead_withdrawn").count() == 1
    # Live: the near pro's open pages get the greyed card, the Cambridge pro the new lead.
    by_stream = {(stream, name): data for stream, name, data in pushes}
    card = by_stream[(f"user.{near.pk}", "lead.withdrawn")]
    assert card["withdrawn"] is True and card["badge_label"] == "No longer matches you"
    assert card["withdrawn_reason"] == "This job changed and no longer matches you"
    assert (f"user.{far.pk}", "lead.offered") in by_stream
    # The withdrawn pro can no longer bid.
    with pytest.raises(ServiceError) as refused:
        services.bid_place(job=job, tradesperson=near, amount=Decimal("99"))
    assert refused.value.code == "lead_withdrawn"

    # A replay of the same events changes nothing.
    before = OutboxEvent.objects.filter(key=str(job.pk)).count()
    for event in feed.events():
        with consuming("matching"):
            feed.handler.handle(event)
    assert OutboxEvent.objects.filter(key=str(job.pk)).count() == before and live(job) == {"bidder", "cambridge"}

    # An edit that moves nothing re-matches nothing.
    services.job_update(job=job, actor=customer, title="Leak under the sink")
    assert feed.run()[-1].data["changed"] == ["title"]
    assert OutboxEvent.objects.filter(key=str(job.pk)).count() == before + 1

    # Moving back: the near pro's lead comes back (offered again), Cambridge's is withdrawn.
    services.job_update(job=job, actor=customer, latitude=ISLINGTON[0], longitude=ISLINGTON[1], place="Islington N1")
    feed.run()
    assert live(job) == {"near", "bidder"}
    assert [d["tradesperson_id"] for d in emitted(job, "lead.offered")].count(near.pk) == 2


def test_changing_the_trade_withdraws_the_plumbers_and_offers_electricians(customer: User) -> None:
    plumbing, electrical = trade(), trade("electrical", "Electrical")
    pro("plumber", trades=[plumbing])
    pro("sparky", trades=[electrical])
    job = post_job(customer, trade=plumbing, latitude=ISLINGTON[0], longitude=ISLINGTON[1])
    feed = Feed(job)
    feed.run()
    assert live(job) == {"plumber"}
    services.job_update(job=job, actor=customer, trade=electrical)
    feed.run()
    assert live(job) == {"sparky"}
    assert emitted(job, "job.updated")[-1]["trade"] == {"slug": "electrical", "name": "Electrical"}
    # The board files it under its new trade, and the open-job counts follow.
    board = JobBoardProjection()
    for event in OutboxEvent.objects.filter(key=str(job.pk), event_type__in=["job.posted", "job.updated"]).order_by("id"):
        with consuming("jobs-board"):
            board.handle(from_dict(event.envelope))
    assert JobBoardEntry.objects.get(job_id=job.pk).trade_slug == "electrical"
    assert dict(TradeActivity.objects.values_list("trade_slug", "open_jobs")) == {"plumbing": 0, "electrical": 1}


def test_the_last_bid_withdrawn_widens_the_search_at_once(customer: User, settings: Any) -> None:
    settings.MATCHING = {**settings.MATCHING, "LEADS_PER_ROUND": 1}
    plumbing = trade()
    first = pro("first", at=ISLINGTON)
    second = pro("second", at=(Decimal("51.56"), Decimal("-0.12")))  # a little further: ranked second
    job = post_job(customer, trade=plumbing, latitude=ISLINGTON[0], longitude=ISLINGTON[1])
    feed = Feed(job)
    feed.run()
    assert live(job) == {"first"}
    bid = services.bid_place(job=job, tradesperson=first, amount=Decimal("120"))
    feed.run()
    services.bid_withdraw(bid=bid, actor=first)
    feed.run()

    job.refresh_from_db()
    assert job.match_round == 2 and len(emitted(job, "job.search_widened")) == 1
    assert live(job) == {"first", "second"}
    assert Notification.objects.filter(recipient=customer, kind="search_widened").exists()
    assert second.pk in {d["tradesperson_id"] for d in emitted(job, "lead.offered")}


def test_a_withdrawn_bid_does_not_widen_while_another_bid_is_live(customer: User) -> None:
    plumbing = trade()
    a, b = pro("a1"), pro("b1")
    job = post_job(customer, trade=plumbing, latitude=ISLINGTON[0], longitude=ISLINGTON[1])
    feed = Feed(job)
    feed.run()
    bid_a = services.bid_place(job=job, tradesperson=a, amount=Decimal("120"))
    services.bid_place(job=job, tradesperson=b, amount=Decimal("130"))
    services.bid_withdraw(bid=bid_a, actor=a)
    feed.run()
    job.refresh_from_db()
    assert job.match_round == 1 and emitted(job, "job.search_widened") == []


def test_the_per_job_cap_holds_through_rounds_replays_and_re_matches(customer: User, settings: Any) -> None:
    settings.MATCHING = {**settings.MATCHING, "LEADS_PER_ROUND": 2, "LEADS_PER_JOB": 3}
    plumbing = trade()
    for i in range(6):
        pro(f"p{i}", at=(ISLINGTON[0] + Decimal(i) / 1000, ISLINGTON[1]))
    job = post_job(customer, trade=plumbing, latitude=ISLINGTON[0], longitude=ISLINGTON[1])
    feed = Feed(job)
    feed.run()
    assert len(live(job)) == 2
    services.job_widen_search(job=job)
    feed.run()
    assert len(live(job)) == 3  # the round would offer 2; the cap leaves room for 1

    # A duplicated job.posted, another widening and a move that keeps everyone in range: still 3.
    posted = feed.events()[0]
    with consuming("matching"):
        feed.handler.handle(posted)
    services.job_widen_search(job=job)
    services.job_update(job=job, actor=customer, latitude=ISLINGTON[0] + Decimal("0.002"), longitude=ISLINGTON[1])
    feed.run()
    assert len(live(job)) == 3 and Lead.objects.filter(job=job).count() == 3
