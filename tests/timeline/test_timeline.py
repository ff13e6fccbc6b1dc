"""The per-job timeline through the real pipeline (consumer ``timeline``): every job event in order, each
party reading it in their own words and time zone, and no bidder ever seeing a competitor's bid — on the
page, in the API, or in a live push."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from marketplace.asgi import application
from marketplace.events.context import consuming
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.realtime import push
from quotes.services import OptionInput
from scheduling.services import appointment_book
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import offer, post_job, pro
from tests.helpers import client_for
from tests.quotes.helpers import accept, lines, quote, submit
from tests.scheduling.helpers import future_monday, worker_all_week
from timeline.entries import Viewer, describe
from timeline.models import JobTimelineEntry
from timeline.projections import TimelineProjection
from timeline.selectors import timeline_for

pytestmark = pytest.mark.django_db(transaction=True)


def job_events(job: Job) -> int:
    rows = OutboxEvent.objects.filter(topic="marketplace.jobs", key=str(job.pk), envelope__aggregate_type="job")
    return rows.exclude(event_type="chat.read").count()


def story(customer: User) -> tuple[Job, User, User, datetime]:
    """A posts a job; X (in New York) and Z bid; A accepts X's quote and books X for a Monday 10:00 UTC."""
    x = pro("xavier", business_name="Xavier Plumbing")
    x.time_zone = "America/New_York"
    x.save()
    z = pro("zed", business_name="Zed Pipes")
    job = post_job(customer, title="Leaky tap")
    offer(job, x)
    offer(job, z, distance="3.40")
    version = submit(job, x)
    submit(job, z, quote(OptionInput(lines=lines(labour_hours="3"))))
    accept(version, customer)
    worker = worker_all_week(x)
    start = future_monday(10)
    appointment_book(job=Job.objects.get(pk=job.pk), worker=worker, starts_at=start, duration_minutes=60, actor=customer)
    return Job.objects.get(pk=job.pk), x, z, start


def summaries(job: Job, user: User) -> list[str]:
    return [e["summary"] for e in timeline_for(job=job, user=user)]


def test_each_party_reads_the_story_in_order_and_no_bidder_sees_a_rivals_bid(broker: Any, customer: User) -> None:
    job, x, z, _ = story(customer)
    relay_all()
    expected = job_events(job)
    run_consumer_until(lambda: JobTimelineEntry.objects.filter(job_id=job.pk).count() >= expected, get_consumer("timeline"))
    entries = list(JobTimelineEntry.objects.filter(job_id=job.pk).order_by("sequence"))
    assert len(entries) == expected
    assert [e.sequence for e in entries] == sorted({e.sequence for e in entries})  # in order, once each
    assert entries[0].event_type == "job.posted" and entries[0].actor_role == "customer"

    bid_x, bid_z = Bid.objects.get(job=job, tradesperson=x), Bid.objects.get(job=job, tradesperson=z)
    amount_x, amount_z = f"£{bid_x.amount}", f"£{bid_z.amount}"

    mine = summaries(job, customer)
    assert mine[0] == "You posted the job “Leaky tap”."
    assert f"Xavier Plumbing bid {amount_x}." in mine and f"Zed Pipes bid {amount_z}." in mine
    assert f"You accepted Xavier Plumbing’s bid of {amount_x}." in mine
    assert any(s.startswith("You booked the appointment for Mon") and "10:00 (Europe/London)" in s for s in mine)

    xs = summaries(job, x)
    assert "The customer posted the job “Leaky tap”." in xs and f"You bid {amount_x}." in xs
    assert f"The customer accepted your bid of {amount_x}." in xs
    # X is in New York: 10:00 UTC in January is 05:00 there.
    assert any("The customer booked the appointment" in s and "05:00 (America/New_York)" in s for s in xs)
    assert not any("Zed" in s or amount_z in s for s in xs)

    zs = summaries(job, z)
    assert f"You bid {amount_z}." in zs and "The customer chose another tradesperson." in zs
    assert "You were offered this job (3.4 km away)." in zs
    assert not any("Xavier" in s or amount_x in s or "appointment" in s or "deposit" in s for s in zs), zs

    # The API says the same to the same people, and nothing to strangers.
    api = client_for(z).get(f"/api/jobs/{job.pk}/timeline/")
    assert api.status_code == 200 and [e["summary"] for e in api.json()["entries"]] == zs
    stranger = User.objects.create_user("stranger", "s@example.com", "pw-123456-x")
    assert client_for(stranger).get(f"/api/jobs/{job.pk}/timeline/").status_code == 404
    assert client_for(pro("nolead")).get(f"/api/jobs/{job.pk}/timeline/").status_code == 404
    assert client_for(None).get(f"/api/jobs/{job.pk}/timeline/").status_code == 403

    # The pages render it: the customer's job page and each tradesperson's lead page.
    web = Client()
    web.force_login(customer)
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="timeline"' in page and "Zed Pipes bid" in page and "js/timeline.js" in page
    web.force_login(z)
    page = web.get(f"/leads/{job.pk}/").content.decode()
    assert 'id="timeline"' in page and "The customer chose another tradesperson." in page and "Xavier" not in page

    # A replay past a lost inbox changes nothing.
    ProcessedEvent.objects.filter(consumer="timeline").delete()
    run_consumer_until(
        lambda: ProcessedEvent.objects.filter(consumer="timeline").count() >= expected, get_consumer("timeline"), group="timeline-again"
    )
    assert JobTimelineEntry.objects.filter(job_id=job.pk).count() == expected


def test_new_entries_are_pushed_live_to_who_may_see_them(broker: Any, customer: User) -> None:
    x, z = pro("xavier_live", business_name="Xavier Live"), pro("zed_live", business_name="Zed Live")
    job = post_job(customer, title="Live tap")
    offer(job, x)
    offer(job, z)

    def act() -> None:
        version = submit(job, x)
        submit(job, z)
        accept(version, customer)
        relay_all()
        expected = job_events(job)
        run_consumer_until(lambda: JobTimelineEntry.objects.filter(job_id=job.pk).count() >= expected, get_consumer("timeline"))
        connection.close()

    async def joined(user: User, stream: str) -> WebsocketCommunicator:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = user
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": stream})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        return ws

    async def drain(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while True:
            try:
                message = await ws.receive_json_from(timeout=2)
            except TimeoutError:  # a quiet socket: everything has arrived (the communicator is done)
                return got
            if message.get("event") == "timeline.entry":
                got.append(message["data"])

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        ws_customer = await joined(customer, f"job.{job.pk}")
        ws_z = await joined(z, f"user.{z.pk}")
        await sync_to_async(act, thread_sensitive=False)()
        return await drain(ws_customer), await drain(ws_z)

    to_customer, to_z = async_to_sync(scenario)()
    customer_texts = [m["summary"] for m in to_customer]
    assert "You posted the job “Live tap”." in customer_texts
    assert any(t.startswith("Xavier Live bid £") for t in customer_texts) and any(t.startswith("Zed Live bid £") for t in customer_texts)
    z_texts = [m["summary"] for m in to_z if m["job_id"] == job.pk]
    assert "The customer chose another tradesperson." in z_texts and any(t.startswith("You bid £") for t in z_texts)
    assert not any("Xavier" in t for t in z_texts), z_texts
    # Exactly what Z may see, each once. (Pushes of one consumer batch are sent concurrently, so they
    # may arrive out of order; the page inserts by sequence and refetches once a burst settles.)
    seqs = sorted(m["sequence"] for m in to_z if m["job_id"] == job.pk)
    assert seqs == [e["sequence"] for e in timeline_for(job=Job.objects.get(pk=job.pk), user=z)]


def test_unknown_event_types_get_a_readable_sentence() -> None:
    entry = JobTimelineEntry(
        job_id=1,
        event_id=uuid.uuid4(),
        sequence=9,
        event_type="review.posted",
        occurred_at=datetime(2026, 1, 5, 10, tzinfo=UTC),
        actor_id=3,
        actor_role="customer",
        visibility="both",
        data={"job_id": 1, "stars": 5},
    )
    assert describe(entry, Viewer(user_id=3, role="customer")) == "Review posted (by you)."
    assert describe(entry, Viewer(user_id=4, role="tradesperson")) == "Review posted (by the customer)."
    entry.event_type, entry.actor_role = "visit.arrived", "tradesperson"
    entry.data = {"job_id": 1, "auto": True, "tradesperson_id": 4}
    assert describe(entry, Viewer(user_id=3, role="customer")) == "The tradesperson arrived (detected by location)."


def test_a_run_applied_together_reads_and_pushes_exactly_as_one_event_at_a_time(
    customer: User, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The timeline consumer's bulk path (a matching round's leads, back-to-back posts) is the one-by-one path, in fewer queries."""
    job, _, _, _ = story(customer)
    handler = TimelineProjection()
    rows = OutboxEvent.objects.filter(topic="marketplace.jobs", key=str(job.pk)).order_by("id")
    events = [from_dict(row.envelope) for row in rows if handler.handles(row.event_type)]
    assert {"job.posted", "lead.offered", "quote.published", "job.awarded"} <= {e.event_type for e in events}
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(push, "send_now", lambda items: sent.extend(m for _, m in items))

    def applied(apply: Callable[[], None]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
        """What ``apply`` writes and pushes, rolled back afterwards so that both ways start alike."""
        sent.clear()
        with transaction.atomic():
            with (
                CaptureQueriesContext(connection) as queries,
                django_capture_on_commit_callbacks(execute=True),
                transaction.atomic(),
                consuming("timeline"),
            ):
                apply()
            entries = list(
                JobTimelineEntry.objects.filter(job_id=job.pk)
                .order_by("sequence", "id")
                .values_list("event_type", "sequence", "actor_role", "visibility", "tradesperson_id", "bidders", "summary", "data")
            )
            transaction.set_rollback(True)
        pushed = [(m["stream"], m["seq"], m["prev_seq"], m["data"]["summary"], m["data"]["occurred_at"]) for m in sent]
        return entries, pushed, len(queries)

    def each() -> None:
        for event in events:
            handler.handle(event)

    one_by_one = applied(each)
    together = applied(lambda: handler._apply(events))
    assert together[0] == one_by_one[0] and len(together[0]) == len(events)
    assert together[1] == one_by_one[1] and len(together[1]) > len(events)  # the customer's and each tradesperson's
    assert together[2] * 3 < one_by_one[2]
    assert handler.handles_in_bulk("lead.offered") and handler.handles_in_bulk("job.posted")
