"""Job, lead and bid services: the rules a marketplace lives by, and their events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from jobs import services
from jobs.lifecycle import TRANSITIONS, IllegalTransition, can_transition
from jobs.models import Bid, Job
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from tests.factories import offer, post_job, pro

pytestmark = pytest.mark.django_db


def events() -> list[str]:
    """Job-side events in order (a tradesperson's profile also emits worker.availability_changed for capacity)."""
    return list(OutboxEvent.objects.exclude(event_type__startswith="worker.").order_by("id").values_list("event_type", flat=True))


def error_code(excinfo: pytest.ExceptionInfo[ServiceError]) -> str:
    return str(excinfo.value.code)


def test_every_status_has_a_rule_and_finished_jobs_go_nowhere() -> None:
    assert set(TRANSITIONS) == set(Job.Status.values)
    for final in (Job.Status.COMPLETED, Job.Status.CANCELLED, Job.Status.EXPIRED):
        assert not TRANSITIONS[final]
    assert not can_transition(Job.Status.OPEN, Job.Status.COMPLETED)  # no skipping the work


def test_the_happy_path_from_post_to_completion_emits_an_event_per_step(customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    offer(job, x)
    bid = services.bid_place(job=job, tradesperson=x, amount=Decimal("120.00"), message="Can come tomorrow")
    services.job_award(job=job, bid=bid, actor=customer)
    for status in (Job.Status.SCHEDULED, Job.Status.IN_PROGRESS, Job.Status.COMPLETED):
        services.job_set_status(job=job, status=status)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.awarded_bid_id == bid.pk
    assert events() == ["job.posted", "lead.offered", "bid.placed", "job.awarded"] + ["job.status_changed"] * 3
    sequences = list(
        OutboxEvent.objects.filter(event_type__in=events())
        .exclude(event_type__startswith="worker.")
        .order_by("id")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, 8))  # one aggregate, one unbroken sequence


def test_completed_before_started_is_an_illegal_transition(customer) -> None:
    job = post_job(customer)
    with pytest.raises(IllegalTransition, match="cannot become completed"):
        services.job_set_status(job=job, status=Job.Status.COMPLETED)
    assert events() == ["job.posted"]


def test_awarding_declines_every_other_live_bid(customer) -> None:
    job = post_job(customer)
    x, y, z = pro("xavier"), pro("yolanda"), pro("zed")
    bids = {}
    for user, amount in ((x, "100"), (y, "90"), (z, "150")):
        offer(job, user)
        bids[user.username] = services.bid_place(job=job, tradesperson=user, amount=Decimal(amount))
    services.bid_withdraw(bid=bids["zed"], actor=z)
    services.job_award(job=job, bid=bids["yolanda"], actor=customer)
    statuses = dict(Bid.objects.values_list("tradesperson__username", "status"))
    assert statuses == {"xavier": "declined", "yolanda": "accepted", "zed": "withdrawn"}
    assert events()[-2:] == ["job.awarded", "bid.declined"]


def test_accepting_twice_is_refused_and_moves_nothing(customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    offer(job, x)
    bid = services.bid_place(job=job, tradesperson=x, amount=Decimal("80"))
    services.job_award(job=job, bid=bid, actor=customer)
    before = OutboxEvent.objects.count()
    with pytest.raises(ServiceError) as excinfo:
        services.job_award(job=job, bid=bid, actor=customer)
    assert error_code(excinfo) == "bid_not_open"
    assert OutboxEvent.objects.count() == before


@pytest.mark.parametrize("case", ["no_lead", "twice", "closed", "own_job", "customer", "zero", "absurd"])
def test_bids_that_must_be_refused(customer, case) -> None:
    job = post_job(customer)
    x = pro("xavier")
    if case != "no_lead":
        offer(job, x)
    bidder, amount = x, Decimal("100")
    if case == "twice":
        services.bid_place(job=job, tradesperson=x, amount=amount)
    if case == "closed":
        services.job_cancel(job=job, actor=customer)
    if case in ("own_job", "customer"):
        bidder = customer
    if case == "zero":
        amount = Decimal("0")
    if case == "absurd":
        amount = Decimal("1000000.01")
    before = (Bid.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(ServiceError) as excinfo:
        services.bid_place(job=job, tradesperson=bidder, amount=amount)
    expected = {
        "no_lead": "no_lead",
        "twice": "already_bid",
        "closed": "job_closed",
        "own_job": "not_a_tradesperson",
        "customer": "not_a_tradesperson",
        "zero": "bad_amount",
        "absurd": "bad_amount",
    }[case]
    assert error_code(excinfo) == expected
    assert (Bid.objects.count(), OutboxEvent.objects.count()) == before


def test_a_revision_keeps_history_in_the_event_and_only_the_owner_may_revise(customer) -> None:
    job = post_job(customer)
    x, y = pro("xavier"), pro("yolanda")
    offer(job, x)
    bid = services.bid_place(job=job, tradesperson=x, amount=Decimal("100"))
    with pytest.raises(ServiceError, match="not yours"):
        services.bid_revise(bid=bid, actor=y, amount=Decimal("1"))
    services.bid_revise(bid=bid, actor=x, amount=Decimal("95.50"), message="Found a cheaper part")
    bid.refresh_from_db()
    assert (bid.amount, bid.revision) == (Decimal("95.50"), 2)
    revised = OutboxEvent.objects.get(event_type="bid.revised").envelope["data"]
    assert revised["previous_amount"] == "100.00" and revised["amount"] == "95.50" and revised["revision"] == 2


def test_only_the_customer_decides_on_bids(customer, other_customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    offer(job, x)
    bid = services.bid_place(job=job, tradesperson=x, amount=Decimal("100"))
    for intruder in (other_customer, x):
        with pytest.raises(ServiceError, match="Only the customer who posted this job"):
            services.bid_shortlist(bid=bid, actor=intruder)
    services.bid_shortlist(bid=bid, actor=customer)
    services.bid_decline(bid=bid, actor=customer, reason="Too far away")
    assert Bid.objects.get().status == "declined"
    with pytest.raises(ServiceError):
        services.bid_shortlist(bid=bid, actor=customer)


def test_editing_is_for_open_jobs_and_their_owner(customer, other_customer) -> None:
    job = post_job(customer)
    services.job_update(job=job, actor=customer, title="Leaky mixer tap", budget_max=Decimal("200"))
    assert OutboxEvent.objects.get(event_type="job.updated").envelope["data"]["title"] == "Leaky mixer tap"
    with pytest.raises(ServiceError, match="Only the customer"):
        services.job_update(job=job, actor=other_customer, title="Mine now")
    with pytest.raises(ServiceError, match="cannot be edited: status"):
        services.job_update(job=job, actor=customer, status="completed")
    services.job_cancel(job=job, actor=customer)
    with pytest.raises(ServiceError, match="Only open jobs"):
        services.job_update(job=job, actor=customer, title="Too late")


def test_a_window_must_make_sense(customer) -> None:
    now = timezone.now()
    for start, end, message in [
        (now + timedelta(days=2), now + timedelta(days=1), "end after it starts"),
        (now - timedelta(days=3), now - timedelta(days=2), "in the past"),
        (now + timedelta(days=1), None, "both the start and the end"),
    ]:
        with pytest.raises(ServiceError, match=message):
            post_job(customer, window_start=start, window_end=end)
    assert not Job.objects.exists()


def test_a_lead_is_marked_seen_once(customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    lead = offer(job, x)
    first = services.lead_mark_seen(lead=lead, actor=x).seen_at
    assert services.lead_mark_seen(lead=lead, actor=x).seen_at == first
    assert events().count("lead.seen") == 1


def test_expiry_and_widening_apply_only_while_they_make_sense(customer, settings) -> None:
    job = post_job(customer)
    assert services.job_expire(job=job) is None  # not due yet
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.job_expire(job=job) is not None
    assert services.job_expire(job=job) is None  # already expired: nothing twice
    assert services.job_widen_search(job=job) is None  # not open any more
    fresh = post_job(customer, title="Another")
    assert services.job_widen_search(job=fresh).match_round == 2  # type: ignore[union-attr]
    assert services.job_widen_search(job=fresh).match_round == 3  # type: ignore[union-attr]
    assert services.job_widen_search(job=fresh) is None  # no wider radius configured
    assert events().count("job.search_widened") == 2


def test_money_is_pounds_and_pence_exactly(customer) -> None:
    assert services.money("120") == Decimal("120.00") and str(services.money(7)) == "7.00"
    for bad in ("12.345", "NaN", "Infinity", "twelve"):
        with pytest.raises(ServiceError, match=r"pounds and pence|not an amount"):
            services.money(bad)
    job = post_job(customer, budget_min=Decimal("50"), budget_max=Decimal("150"))
    data = OutboxEvent.objects.get(event_type="job.posted").envelope["data"]
    assert (data["budget_min"], data["budget_max"]) == ("50.00", "150.00")
    x = pro("xavier")
    offer(job, x)
    with pytest.raises(ServiceError, match="pounds and pence"):
        services.bid_place(job=job, tradesperson=x, amount=Decimal("99.999"))
