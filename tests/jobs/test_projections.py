"""Read models and live pushes built by the job consumers, against the real broker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from jobs import services
from jobs.models import JobBoardEntry, ProStats
from jobs.selectors import BoardFilters, board
from marketplace.asgi import application
from marketplace.events.registry import get_consumer
from marketplace.realtime import push
from marketplace.realtime.models import LivePosition
from marketplace.realtime.streams import can_subscribe
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import offer, post_job, pro, trade
from tests.helpers import after_payments_executor

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_board_searches_and_filters_its_read_model(broker, customer) -> None:
    trade("electrical", "Electrical")
    post_job(
        customer,
        title="Boiler not firing",
        description="Combi boiler shows F28, no hot water",
        latitude=Decimal("51.5462"),
        longitude=Decimal("-0.1033"),
    )
    post_job(
        customer,
        title="Replace consumer unit",
        description="Old fuse box",
        trade=trade("electrical", "Electrical"),
        budget_min=Decimal("400"),
        budget_max=Decimal("800"),
    )
    post_job(
        customer,
        title="Burst pipe under sink",
        description="Water everywhere",
        is_emergency=True,
        latitude=Decimal("51.4523"),
        longitude=Decimal("-0.1184"),
    )
    relay_all()
    run_consumer_until(lambda: JobBoardEntry.objects.count() == 3, get_consumer("jobs-board"))

    def titles(**kw: object) -> list[str]:
        return [e.title for e in board(filters=BoardFilters(**kw))]  # type: ignore[arg-type]

    assert titles(query="boiler") == ["Boiler not firing"]
    assert titles(query="hot water") == ["Boiler not firing"]  # description words count too
    assert titles(query="fuse box") == ["Replace consumer unit"]
    assert titles(trade="electrical") == ["Replace consumer unit"]
    assert titles(emergency_only=True) == ["Burst pipe under sink"]
    assert titles(budget_min=Decimal("300")) == ["Replace consumer unit"]
    near_islington = titles(near=(51.5362, -0.1033), max_km=3)
    assert "Boiler not firing" in near_islington and "Burst pipe under sink" not in near_islington
    by_distance = list(board(filters=BoardFilters(near=(51.4523, -0.1184))))
    assert by_distance[0].title == "Burst pipe under sink" and by_distance[0].distance_km < 0.1  # type: ignore[attr-defined]


def test_board_rows_follow_the_job_and_ignore_stale_events(broker, customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    offer(job, x)
    services.bid_place(job=job, tradesperson=x, amount=Decimal("100"))
    services.job_update(job=job, actor=customer, title="Leaky mixer tap")
    relay_all()
    run_consumer_until(lambda: JobBoardEntry.objects.filter(title="Leaky mixer tap", bid_count=1).exists(), get_consumer("jobs-board"))
    assert [e.job_id for e in board(filters=BoardFilters(query="mixer"))] == [job.pk]  # an edit is searchable
    services.job_cancel(job=job, actor=customer)
    relay_all()
    run_consumer_until(lambda: JobBoardEntry.objects.filter(status="cancelled").exists(), get_consumer("jobs-board"))
    entry = JobBoardEntry.objects.get()
    assert entry.last_sequence == 5
    assert list(board(filters=BoardFilters())) == []  # closed jobs leave the board


def test_pro_stats_count_response_time_and_wins(broker, customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    lead = offer(job, x)
    services.lead_mark_seen(lead=lead, actor=x)
    bid = services.bid_place(job=job, tradesperson=x, amount=Decimal("100"))
    services.job_award(job=job, bid=bid, actor=customer)
    relay_all()
    run_consumer_until(lambda: ProStats.objects.filter(jobs_won=1).exists(), get_consumer("pro-stats"))
    stats = ProStats.objects.get(tradesperson_id=x.pk)
    assert (stats.leads_offered, stats.leads_seen, stats.bids_placed, stats.jobs_won) == (1, 1, 1, 1)
    assert stats.response_seconds_total >= 0 and stats.average_response_minutes is not None


def test_streams_are_authorized_per_person(customer, other_customer) -> None:
    job = post_job(customer)
    x, y = pro("xavier"), pro("yolanda")
    offer(job, x)
    cases = {
        (customer, f"job.{job.pk}"): True,
        (other_customer, f"job.{job.pk}"): False,
        (x, f"job.{job.pk}"): False,  # other bids are not theirs to see
        (x, f"jobfeed.{job.pk}"): True,
        (y, f"jobfeed.{job.pk}"): False,  # no lead, no feed
        (customer, f"jobfeed.{job.pk}"): True,
        (x, "board.all"): True,
        (customer, "board.all"): False,
        (x, f"user.{x.pk}"): True,
        (x, f"user.{y.pk}"): False,
        (x, "job.1; DROP TABLE"): False,
        (x, "nonsense"): False,
    }
    assert {key: can_subscribe(user, stream) for (user, stream), key in zip(cases, cases, strict=True)} == cases


def test_the_customer_sees_a_bid_live_with_sequence_positions(broker, customer) -> None:
    job = post_job(customer)
    x = pro("xavier")
    offer(job, x)

    def act() -> None:
        services.bid_place(job=job, tradesperson=x, amount=Decimal("120"))
        relay_all()
        run_consumer_until(lambda: LivePosition.objects.filter(stream=f"job.{job.pk}").exists(), get_consumer("job-live"))
        connection.close()

    async def scenario() -> dict:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = customer
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"job.{job.pk}"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(act, thread_sensitive=False)()
        while True:  # the customer's own user stream also gets a "new bid" notification
            message = await ws.receive_json_from(timeout=5)
            if message["stream"] == f"job.{job.pk}":
                break
        await ws.disconnect()
        return dict(message)

    message = async_to_sync(scenario)()
    assert message["event"] == "bid.placed" and message["data"]["amount"] == "120.00"
    assert message["source"] == "job-live" and message["aggregate"] == f"job:{job.pk}"
    assert message["seq"] == 3 and message["prev_seq"] is None  # first push to this stream: nothing to miss


def test_quotes_and_payments_reach_the_customer_and_the_winner_never_a_competitor(broker, customer, monkeypatch) -> None:
    from marketplace.notifications.models import Notification
    from payments.approval import payment_approve
    from payments.models import Payment
    from quotes.services import OptionInput
    from tests.quotes.helpers import accept, lines, quote, revise, submit

    job = post_job(customer)
    x, y = pro("xavier"), pro("yusuf")
    offer(job, x)
    offer(job, y)
    submit(job, y)
    first = submit(job, x)
    version = revise(first.bid, x, quote(OptionInput(lines=lines(labour_hours="3")), notes="Parts included"))
    accept(version, customer)

    pushed: list[tuple[str, str, dict]] = []
    real = push.send_on_commit

    def record(stream, event, data, *, name=None) -> None:
        pushed.append((stream, name or event.event_type, data))
        real(stream, event, data, name=name)

    monkeypatch.setattr(push, "send_on_commit", record)
    relay_all()
    run_consumer_until(lambda: Notification.objects.filter(kind="payment_deposit_held").exists(), get_consumer("job-live"))

    revised = Notification.objects.filter(recipient=customer, kind="quote_revised")
    assert revised.count() == 1  # version 2 only: version 1 arrives as "new bid"
    assert revised.filter(title="Xavier Ltd revised their quote", url=f"/jobs/{job.pk}/").exists()
    assert Notification.objects.get(recipient=customer, kind="payment_deposit_held").title.startswith("Deposit held: £")
    quote_pushes = [(stream, data["tradesperson_id"]) for stream, kind, data in pushed if kind == "quote.published"]
    assert (f"user.{x.pk}", x.pk) in quote_pushes and (f"job.{job.pk}", x.pk) in quote_pushes
    assert all(stream != f"user.{y.pk}" or tp == y.pk for stream, tp in quote_pushes)  # yusuf never gets xavier's quote
    payment_streams = {stream for stream, kind, _ in pushed if kind.startswith("payment.")}
    assert payment_streams == {f"job.{job.pk}", f"user.{x.pk}"}

    # The work is done: the customer is asked to sign off; once they approve, the payments consumer takes
    # the money, and the winner hears "Work approved" and "Payment received" (the competitor nothing).
    services.job_start_work(job=job, actor=x)
    services.job_complete(job=job, actor=x)
    relay_all()
    payments_consumer = get_consumer("payments")
    run_consumer_until(lambda: Payment.objects.filter(job=job, status=Payment.Status.AWAITING_APPROVAL).exists(), payments_consumer)
    payment_approve(payment=Payment.objects.get(job=job), actor=customer, tip=Decimal("5.00"))
    relay_all()
    run_consumer_until(
        after_payments_executor(lambda: Payment.objects.filter(job=job, status=Payment.Status.PAID).exists()), payments_consumer
    )
    relay_all()
    run_consumer_until(lambda: Notification.objects.filter(recipient=x, kind="payment_received").exists(), get_consumer("job-live"))
    assert Notification.objects.get(recipient=customer, kind="signoff_requested").title == "Please approve the finished work"
    assert Notification.objects.get(recipient=x, kind="signoff_approved").title == "Work approved with a £5.00 tip"
    assert not Notification.objects.filter(recipient=customer, kind="signoff_approved").exists()
    assert not Notification.objects.filter(recipient=y, kind__startswith="payment").exists()
    assert not Notification.objects.filter(recipient=y, kind__startswith="signoff").exists()
