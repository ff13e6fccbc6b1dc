"""The insights projection fed envelopes directly (real Postgres, no broker): lateness, pauses, money from
out-of-order payment snapshots, repeat customers decided by time whatever order the jobs arrive in, duplicates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum

from insights.models import PLATFORM, DailyMetric
from insights.projections import InsightsProjection
from marketplace.events.envelope import Envelope
from marketplace.events.runner import apply_event

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PRO = 41
_seq: dict[str, int] = {}


def event(event_type: str, aggregate: int, when: datetime, aggregate_type: str = "job", /, **data: Any) -> Envelope:
    key = f"{aggregate_type}:{aggregate}"
    _seq[key] = _seq.get(key, 0) + 1
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=1,
        occurred_at=when,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate),
        sequence=_seq[key],
        actor_id=None,
        correlation_id="test",
        causation_id=None,
        data=data,
    )


def apply(*events: Envelope) -> None:
    handler = InsightsProjection()
    with transaction.atomic():
        for e in events:
            apply_event("insights", handler, e)


def posted(job: int, at: datetime, customer: int = 7, trade: str = "plumbing") -> Envelope:
    return event(
        "job.posted",
        job,
        at,
        job_id=job,
        customer_id=customer,
        trade={"slug": trade, "name": trade.title()},
        status="open",
        posted_at=at.isoformat(),
    )


def awarded(job: int, at: datetime, pro: int = PRO) -> Envelope:
    return event("job.awarded", job, at, job_id=job, status="awarded", bid_id=job * 10, tradesperson_id=pro, amount="100.00")


def status(job: int, at: datetime, to: str) -> Envelope:
    return event("job.status_changed", job, at, job_id=job, from_status="x", status=to)


def total(field: str, pro: int = PLATFORM, **filters: Any) -> Any:
    return DailyMetric.objects.filter(tradesperson_id=pro, **filters).aggregate(v=Sum(field))["v"] or 0


def test_arrival_delay_and_on_time_rate_are_measured_against_the_latest_appointment() -> None:
    start = T0 + timedelta(days=1)
    apply(posted(1, T0), awarded(1, T0))
    booked = event(
        "appointment.booked",
        1,
        T0,
        job_id=1,
        appointment_id=5,
        worker_id=3,
        tradesperson_id=PRO,
        starts_at=start.isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
    )
    moved = event(
        "appointment.rescheduled",
        1,
        T0,
        job_id=1,
        appointment_id=5,
        worker_id=3,
        tradesperson_id=PRO,
        starts_at=(start + timedelta(hours=1)).isoformat(),
        ends_at=(start + timedelta(hours=2)).isoformat(),
        previous_starts_at=start.isoformat(),
        previous_ends_at=(start + timedelta(hours=2)).isoformat(),
    )
    late = start + timedelta(hours=1, minutes=20)
    arrived = event(
        "visit.arrived",
        1,
        late,
        job_id=1,
        visit_id=9,
        worker_id=3,
        tradesperson_id=PRO,
        customer_id=7,
        stage="arrived",
        at=late.isoformat(),
        auto=False,
    )
    apply(booked, moved, arrived, arrived)  # the duplicate changes nothing
    assert total("scheduled_seconds", PRO) == 3600  # two hours booked, then moved to one hour
    assert total("arrivals", PRO) == 1 and total("arrivals_on_time", PRO) == 0
    assert total("arrival_delay_seconds", PRO) == 20 * 60
    assert total("arrivals", PRO, day=late.date()) == 1  # on the arrival's UTC day

    # Working: start, a 30-minute pause, completion after 2 h: 1.5 worker-hours used.
    paused, resumed = late + timedelta(minutes=30), late + timedelta(hours=1)
    common = {"job_id": 1, "visit_id": 9, "worker_id": 3, "tradesperson_id": PRO, "customer_id": 7}
    apply(
        status(1, late, "in_progress"),
        event("visit.paused", 1, paused, **common, stage="paused", at=paused.isoformat()),
        event("visit.resumed", 1, resumed, **common, stage="working", at=resumed.isoformat()),
        status(1, late + timedelta(hours=2), "completed"),
    )
    assert total("used_seconds", PRO) == 1.5 * 3600 and total("jobs_completed", PRO) == 1


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(4, "arrivals_on_time"), (-15, "arrivals_on_time"), (-90, "arrivals_early"), (-16, "arrivals_early"), (6, "arrivals_late")],
)
def test_an_arrival_is_on_time_only_inside_the_window(minutes: int, expected: str) -> None:
    """From EARLY_GRACE_MINUTES (15) before the start to ON_TIME_GRACE_MINUTES (5) after it; 1.5 h early is early."""
    start = T0 + timedelta(days=1)
    apply(posted(2, T0), awarded(2, T0))
    apply(
        event(
            "appointment.booked",
            2,
            T0,
            job_id=2,
            appointment_id=6,
            worker_id=3,
            tradesperson_id=PRO,
            starts_at=start.isoformat(),
            ends_at=(start + timedelta(hours=1)).isoformat(),
        )
    )
    at = start + timedelta(minutes=minutes)
    apply(
        event(
            "visit.arrived",
            2,
            at,
            job_id=2,
            visit_id=8,
            worker_id=3,
            tradesperson_id=PRO,
            customer_id=7,
            stage="arrived",
            at=at.isoformat(),
            auto=True,
        )
    )
    counts = {name: total(name, PRO) for name in ("arrivals_on_time", "arrivals_early", "arrivals_late")}
    assert counts == {name: int(name == expected) for name in counts}
    assert total("arrival_delay_seconds", PRO) == max(0, minutes) * 60


def snapshot(payment: int, version: int, at: datetime, captured: str, refunded: str = "0.00", fee: str = "0.00") -> Envelope:
    return event(
        "payment.snapshot",
        payment,
        at,
        "payment",
        payment_id=payment,
        job_id=3,
        customer_id=7,
        tradesperson_id=PRO,
        status="paid",
        currency="GBP",
        version=version,
        total="120.00",
        deposit="24.00",
        balance="96.00",
        held="0.00",
        captured=captured,
        refunded=refunded,
        platform_revenue=fee,
        payout_due="0.00",
        payout_paid="0.00",
    )


def test_money_follows_the_latest_payment_snapshot_whatever_order_they_arrive_in() -> None:
    apply(posted(3, T0), awarded(3, T0))
    v2 = snapshot(70, 2, T0 + timedelta(days=1), "120.00", fee="10.00")
    v3 = snapshot(70, 3, T0 + timedelta(days=3), "120.00", refunded="20.00", fee="8.33")
    v1 = snapshot(70, 1, T0, "0.00")
    apply(v2, v1, v3)  # v1 is stale when it arrives
    assert total("revenue", PRO) == Decimal("100.00") and total("platform_fees") == Decimal("8.33")
    assert total("revenue", day=(T0 + timedelta(days=1)).date()) == Decimal("120.00")  # on the day money moved
    assert total("revenue", day=(T0 + timedelta(days=3)).date()) == Decimal("-20.00")  # the refund's day


def test_repeat_customers_are_decided_by_completion_time_not_arrival_order() -> None:
    # Customer 7 completes jobs 11 (day 1) and 12 (day 2) with PRO; the consumer meets job 12 first.
    d1, d2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    apply(posted(12, T0), awarded(12, T0), status(12, d2, "in_progress"), status(12, d2, "completed"))
    assert total("repeat_jobs") == 0
    apply(posted(11, T0), awarded(11, T0), status(11, d1, "in_progress"), status(11, d1, "completed"))
    assert total("repeat_jobs") == 1 and total("repeat_jobs", PRO) == 1
    assert total("repeat_jobs", day=d2.date()) == 1 and total("repeat_jobs", day=d1.date()) == 0


def test_time_to_first_bid_platform_from_posting_tradesperson_from_the_lead() -> None:
    apply(posted(20, T0))
    apply(
        event(
            "lead.offered",
            20,
            T0 + timedelta(minutes=10),
            lead_id=1,
            job_id=20,
            tradesperson_id=PRO,
            match_round=1,
            distance_km="1",
            score="1",
        )
    )
    bid = {"job_id": 20, "tradesperson_id": PRO, "amount": "80.00", "status": "active", "revision": 1}
    apply(
        event("bid.placed", 20, T0 + timedelta(minutes=25), bid_id=1, **bid),
        event("bid.placed", 20, T0 + timedelta(minutes=40), bid_id=2, **bid),
    )
    apply(event("bid.revised", 20, T0 + timedelta(hours=2), bid_id=1, **{**bid, "amount": "100.00"}, previous_amount="80.00"))
    assert total("jobs_bid") == 1 and total("first_bid_seconds") == 25 * 60
    assert total("jobs_bid", PRO) == 1 and total("first_bid_seconds", PRO) == 15 * 60
    assert total("bids", PRO) == 2 and total("quote_total", PRO) == Decimal("180.00")
    assert total("leads", PRO) == 1
