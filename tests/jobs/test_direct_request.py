"""Direct requests ("request a quote from this pro"): the chosen tradesperson has the job alone until they
decline or the exclusive window passes; then matching invites others, and the customer's page says so."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from jobs import services
from jobs.models import Job, Lead
from jobs.periodic import tick
from jobs.projections import JobLiveHandler
from marketplace.errors import ServiceError
from marketplace.events.envelope import Envelope
from marketplace.events.models import OutboxEvent
from marketplace.events.replay import events_from_outbox
from marketplace.events.topics import Topic
from marketplace.notifications.models import Notification
from matching.projections import MatchingHandler
from tests.factories import offer, post_job, pro, trade
from tests.helpers import JOB, client_for, error_code

pytestmark = pytest.mark.django_db

EXCLUSIVE = 120


@pytest.fixture(autouse=True)
def _settings(settings) -> None:
    settings.MATCHING = {**settings.MATCHING, "DIRECT_REQUEST_EXCLUSIVE_MINUTES": EXCLUSIVE, "LEADS_PER_ROUND": 5}


def _data(event_type: str) -> list[dict]:
    return [row.envelope["data"] for row in OutboxEvent.objects.filter(event_type=event_type).order_by("id")]


def _match_new_events(after_id: int) -> None:
    """Feed the jobs-topic events written after ``after_id`` to matching's handler, as its consumer would."""
    ids = set(OutboxEvent.objects.filter(topic=str(Topic.JOBS), id__gt=after_id).values_list("event_id", flat=True))
    handler = MatchingHandler()
    for event in events_from_outbox([str(Topic.JOBS)]):
        if isinstance(event, Envelope) and event.event_id in ids and handler.handles(event.event_type):
            handler.handle(event)


def _last_id() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _offered(job: Job) -> set[str]:
    return set(Lead.objects.filter(job=job).values_list("tradesperson__username", flat=True))


def test_a_direct_request_goes_to_the_chosen_pro_alone_until_they_decline(customer) -> None:
    plumbing = trade()
    chosen = pro("chosen", radius=2)  # the customer chose them: their radius does not matter
    pro("nearby")
    pro("also_nearby")
    with time_machine.travel(timezone.now(), tick=False):
        job = post_job(customer, trade=plumbing, requested_pro=chosen)
        assert job.requested_pro == chosen
        assert job.exclusive_until == timezone.now() + timedelta(minutes=EXCLUSIVE)
    [requested] = _data("job.direct_requested")
    assert (requested["tradesperson_id"], requested["customer_id"]) == (chosen.pk, customer.pk)

    _match_new_events(0)
    assert _offered(job) == {"chosen"}

    lead = Lead.objects.get(job=job, tradesperson=chosen)
    mark = _last_id()
    services.lead_decline(lead=lead, actor=chosen)
    job.refresh_from_db()
    lead.refresh_from_db()
    assert job.exclusive_until is None and lead.declined_at is not None
    [opened] = _data("job.direct_request_opened")
    assert opened["reason"] == "declined" and opened["tradesperson_id"] == chosen.pk

    _match_new_events(mark)
    assert _offered(job) == {"chosen", "nearby", "also_nearby"}
    assert Lead.objects.filter(job=job, tradesperson=chosen).count() == 1
    # Declined once is final: a second decline is refused with a sentence.
    with pytest.raises(ServiceError) as refused:
        services.lead_decline(lead=lead, actor=chosen)
    assert refused.value.code == "not_exclusive"


def test_the_clock_opens_a_request_nobody_answered_only_after_the_exclusive_window(customer) -> None:
    plumbing = trade()
    chosen = pro("chosen")
    pro("other")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        quiet = post_job(customer, trade=plumbing, requested_pro=chosen, title="Nobody answers")
        answered = post_job(customer, trade=plumbing, requested_pro=chosen, title="Chosen bids")
    offer(answered, chosen)
    services.bid_place(job=answered, tradesperson=chosen, amount=Decimal("90"))

    # Just before the window ends: nothing opens, and normal widening leaves exclusive jobs alone.
    with time_machine.travel(start + timedelta(minutes=EXCLUSIVE - 1), tick=False):
        assert tick() == (0, 0)
    assert not _data("job.direct_request_opened") and not _data("job.search_widened")

    mark = _last_id()
    with time_machine.travel(start + timedelta(minutes=EXCLUSIVE, seconds=1), tick=False):
        assert tick() == (0, 1)
        assert tick() == (0, 0)  # idempotent
    [opened] = _data("job.direct_request_opened")
    assert opened == {**opened, "job_id": quiet.pk, "reason": "no_reply"}
    assert Job.objects.get(pk=answered.pk).exclusive_until is not None  # they answered: it stays theirs

    _match_new_events(mark)
    assert _offered(quiet) == {"chosen", "other"} and _offered(answered) == {"chosen"}


def test_only_the_requested_pro_may_decline_and_only_before_bidding(customer) -> None:
    plumbing = trade()
    chosen, rival = pro("chosen"), pro("rival")
    job = post_job(customer, trade=plumbing, requested_pro=chosen)
    lead = offer(job, chosen)
    rival_lead = offer(job, rival)
    for actor, which, code in ((rival, lead, "forbidden"), (customer, lead, "forbidden"), (rival, rival_lead, "not_exclusive")):
        with pytest.raises(ServiceError) as refused:
            services.lead_decline(lead=which, actor=actor)
        assert refused.value.code == code
    services.bid_place(job=job, tradesperson=chosen, amount=Decimal("80"))
    with pytest.raises(ServiceError) as refused:
        services.lead_decline(lead=lead, actor=chosen)
    assert refused.value.code == "already_bid"
    assert not _data("job.direct_request_opened")


def test_a_pro_who_does_not_do_the_trade_or_takes_no_leads_cannot_be_asked(customer) -> None:
    plumbing, electrical = trade(), trade("electrical", "Electrical")
    sparky = pro("sparky", trades=[electrical])
    resting = pro("resting", is_accepting_leads=False)
    for who, code in ((sparky, "pro_wrong_trade"), (resting, "pro_unavailable")):
        with pytest.raises(ServiceError) as refused:
            post_job(customer, trade=plumbing, requested_pro=who)
        assert refused.value.code == code and refused.value.message
    assert not Job.objects.exists()


def test_the_api_takes_a_requested_pro_and_refuses_one_of_another_trade(customer) -> None:
    trade()
    electrical = trade("electrical", "Electrical")
    chosen, sparky = pro("chosen"), pro("sparky", trades=[electrical])
    api = client_for(customer)
    response = api.post("/api/jobs/", {**JOB, "requested_pro": chosen.pk}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["requested_pro"] == chosen.pk and response.json()["exclusive_until"]

    refused = api.post("/api/jobs/", {**JOB, "requested_pro": sparky.pk}, format="json")
    assert refused.status_code == 400 and error_code(refused) == "pro_wrong_trade"
    assert "doesn't do plumbing" in refused.json()["error"]["message"]
    unknown = api.post("/api/jobs/", {**JOB, "requested_pro": customer.pk}, format="json")
    assert unknown.status_code == 400 and error_code(unknown) == "validation_error"


def test_the_pages_offer_the_request_and_say_who_has_it(client, customer) -> None:
    plumbing = trade()
    chosen = pro("chosen", business_name="Chosen Plumbing")
    client.force_login(customer)
    profile_page = client.get(f"/pros/{chosen.pk}/").content.decode()
    assert f"/jobs/new/?pro={chosen.pk}" in profile_page and "Request a quote" in profile_page
    form = client.get(f"/jobs/new/?pro={chosen.pk}").content.decode()
    assert "You're asking <strong>Chosen Plumbing</strong> for a quote" in form

    job = post_job(customer, trade=plumbing, requested_pro=chosen)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Sent to Chosen Plumbing first; others will be invited if they don" in page
    assert "nearby" not in page  # nothing beside the note says other tradespeople have it yet
    services.job_direct_request_open(job=job, reason="declined")
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "other tradespeople nearby are invited too" in page and "We've told matching tradespeople nearby" in page

    client.force_login(chosen)
    offer(job, chosen)
    Job.objects.filter(pk=job.pk).update(exclusive_until=timezone.now() + timedelta(hours=1))
    lead_page = client.get(f"/leads/{job.pk}/").content.decode()
    assert "The customer asked you first" in lead_page
    response = client.post(f"/leads/{job.pk}/decline/")
    assert response.status_code == 302 and Job.objects.get(pk=job.pk).exclusive_until is None


def test_the_customer_is_told_live_when_the_request_opens(customer) -> None:
    """job-live pushes the new sentence to the job page (static/js/job-detail.js swaps it in) and notifies the customer."""
    plumbing = trade()
    chosen = pro("chosen", business_name="Chosen Plumbing")
    job = post_job(customer, trade=plumbing, requested_pro=chosen)
    mark = _last_id()
    services.job_direct_request_open(job=job, reason="declined")
    handler = JobLiveHandler()
    ids = set(OutboxEvent.objects.filter(id__gt=mark).values_list("event_id", flat=True))
    for event in events_from_outbox([str(Topic.JOBS)]):
        if isinstance(event, Envelope) and event.event_id in ids and handler.handles(event.event_type):
            handler.handle(event)
    told = Notification.objects.get(recipient=customer, kind="search_widened")
    assert told.body == "Chosen Plumbing can't take this job, so we've invited other tradespeople nearby."
