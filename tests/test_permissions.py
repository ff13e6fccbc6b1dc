"""Who may do what, over every API endpoint and method, as six people.

The world: customer A owns open job J; tradespeople X and Z were offered J and bid on it
with quotes; A also owns J2, whose quote from X was accepted (deposit held), and J3, done by
X and paid in full. X's worker W works every day 08:00-18:00; J4, also X's, is booked with W (scheduled).
Tradesperson Y has a profile but no lead; customer B owns nothing of A's;
staff is a staff account (role customer); anon is not signed in.

Expected statuses follow two rules: an object you may not see is 404 (the selectors
decide), an action you may not take on an object you can see is 403 (the services
decide); a business rule that says "not now" is 409.  Anonymous requests are 403
``not_authenticated`` (session authentication is the first authenticator, so no 401).
Every refusal has the one error shape and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from chat.models import Thread
from chat.services import chat_threads_open
from jobs import services as job_services
from jobs.models import Bid, Job, Lead
from marketplace.accounts.models import ApiToken, User
from marketplace.accounts.services import api_token_create
from marketplace.notifications.services import notify
from payments.models import Payment
from payments.services import payment_collect
from quotes.services import quote_accept, quote_submit, single_line_quote
from reviews.models import Review
from reviews.services import review_post
from scheduling.models import Appointment, Reminder, SlotProposal, TimeOff, Worker, WorkingHours
from scheduling.services import appointment_book
from tests.factories import CustomerFactory, TradespersonFactory, make_pro, make_profile, make_user, offer, post_job
from tests.helpers import JOB, client_for, error_code, run_payments_executor, state
from tests.scheduling.helpers import future_monday, worker_all_week

ROLES = ["A", "B", "X", "Y", "staff", "anon"]


@dataclass
class World:
    users: dict[str, User]
    job: Job
    lead_x: Lead
    bid_x: Bid
    bid_z: Bid
    awarded_job: Job
    paid_job: Job
    payment: Payment
    worker: Worker
    scheduled_job: Job


def quoted_bid(job: Job, pro: User, amount: str) -> Bid:
    return quote_submit(job=job, tradesperson=pro, quote=single_line_quote(Decimal(amount))).bid


def accepted_job(customer: User, pro: User, title: str) -> Job:
    job = post_job(customer, title=title)
    offer(job, pro)
    bid = quoted_bid(job, pro, "200.00")
    quote_accept(job=job, bid=bid, actor=customer, version_number=1, card_token="tok_visa")
    return Job.objects.get(pk=job.pk)


@pytest.fixture(scope="module")
def _one_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The world, built once for the module inside a transaction that is rolled back at its end.

    Each test's own ``db`` transaction nests inside it (a savepoint), so a test that writes leaves nothing
    for the next, and 450 cases cost one world instead of 450 (minutes of suite time).
    """
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        outer = transaction.atomic()
        outer.__enter__()
        built = build_world(
            CustomerFactory.create(username="cust_a", email="a@example.com"),
            CustomerFactory.create(username="cust_b", email="b@example.com"),
            TradespersonFactory.create(username="trade_x", email="x@example.com"),
        )
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_one_world: World, db: None) -> World:
    return _one_world


def build_world(customer: User, other_customer: User, tradesperson: User) -> World:
    make_profile(tradesperson)
    users = {
        "A": customer,
        "B": other_customer,
        "X": tradesperson,
        "Y": make_pro("trade_y"),
        "Z": make_pro("trade_z"),
        "staff": make_user("staff_s", is_staff=True),
    }
    job = post_job(customer)
    api_token_create(user=customer, label="A's phone")
    post_job(other_customer, title="B's own job")
    lead_x = offer(job, tradesperson)
    offer(job, users["Z"])
    bid_x, bid_z = quoted_bid(job, tradesperson, "120.00"), quoted_bid(job, users["Z"], "150.00")
    awarded = accepted_job(customer, tradesperson, "Awarded job")
    paid = accepted_job(customer, tradesperson, "Paid job")
    job_services.job_start_work(job=paid, actor=tradesperson)
    job_services.job_complete(job=paid, actor=tradesperson)
    assert payment_collect(job_id=paid.pk) is not None
    run_payments_executor()
    payment = Payment.objects.get(job=paid)
    assert payment.status == "paid"
    worker = worker_all_week(tradesperson)
    scheduled = accepted_job(customer, tradesperson, "Scheduled job")
    appointment_book(job=scheduled, worker=worker, starts_at=future_monday(10, weeks=3), duration_minutes=60, actor=customer)
    world = World(users, job, lead_x, bid_x, bid_z, awarded, Job.objects.get(pk=paid.pk), payment, worker, Job.objects.get(pk=scheduled.pk))
    for name, user in users.items():
        notify(recipient_id=user.pk, kind="test", title=f"Hello {name}", object_key="1")
    chat_threads_open(job=job, viewer=customer)  # A's chat threads with X and Z on J
    review_post(
        job=world.paid_job, customer=customer, rating=4, aspects=dict.fromkeys(("punctuality", "quality", "value", "communication"), 4)
    )
    return world


Body = Callable[[World, str], dict[str, Any] | None]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {job}, {lead}, {bid}, {pro}, {awarded_job}, {paid_job}, {payment}, {worker}, {scheduled_job} are filled from the world
    body: Body = lambda w, role: None
    headers: dict[str, str] | None = None


ACCEPT = {"version": 1, "tier": "standard", "card_token": "tok_visa"}


def _iso(hour: int, weeks: int = 2) -> str:
    return future_monday(hour, weeks=weeks).isoformat()


ENDPOINTS: dict[str, Endpoint] = {
    "signup": Endpoint(
        "POST",
        "/api/auth/signup/",
        lambda w, role: {"username": f"new_{role}", "email": "n@example.com", "password": "a-long-pass-phrase-9", "role": "customer"},
    ),
    "token": Endpoint("POST", "/api/auth/token/", lambda w, role: {"username": "cust_a", "password": "pw-123456-x"}),
    "me": Endpoint("GET", "/api/me/"),
    "tokens": Endpoint("GET", "/api/auth/tokens/"),
    "token-revoke": Endpoint("DELETE", "/api/auth/tokens/{api_token}/"),  # A's phone token
    "tokens-revoke-all": Endpoint("POST", "/api/auth/tokens/revoke-all/"),
    "token-logout": Endpoint("POST", "/api/auth/logout/"),
    "trades": Endpoint("GET", "/api/trades/"),
    "places": Endpoint("GET", "/api/places/?q=isl"),
    "profile-get": Endpoint("GET", "/api/profile/"),
    "profile-put": Endpoint(
        "PUT", "/api/profile/", lambda w, role: {"business_name": "New Ltd", "trades": ["plumbing"], "base_place": "N1"}
    ),
    "pro": Endpoint("GET", "/api/pros/{pro}/"),
    "jobs-list": Endpoint("GET", "/api/jobs/"),
    "jobs-create": Endpoint("POST", "/api/jobs/", lambda w, role: JOB),
    "job-get": Endpoint("GET", "/api/jobs/{job}/"),
    "job-patch": Endpoint("PATCH", "/api/jobs/{job}/", lambda w, role: {"title": "Dripping tap"}),
    "job-cancel": Endpoint("POST", "/api/jobs/{job}/cancel/", lambda w, role: {"reason": "fixed it myself"}),
    "job-award": Endpoint("POST", "/api/jobs/{job}/award/", lambda w, role: {"bid_id": w.bid_x.pk, **ACCEPT}),
    "job-start": Endpoint("POST", "/api/jobs/{awarded_job}/start/"),
    "job-complete": Endpoint("POST", "/api/jobs/{awarded_job}/complete/"),
    "job-cancel-awarded": Endpoint("POST", "/api/jobs/{awarded_job}/cancel/", lambda w, role: {"reason": "cannot make it"}),
    "quote-price": Endpoint("POST", "/api/quotes/price/", lambda w, role: {"amount": "99.00"}),
    "bid-quote": Endpoint("GET", "/api/bids/{bid}/quote/"),
    "bid-quote-price": Endpoint("POST", "/api/bids/{bid}/quote/price/", lambda w, role: {"tier": "standard"}),
    "bid-accept": Endpoint("POST", "/api/bids/{bid}/accept/", lambda w, role: ACCEPT),
    "payment-get": Endpoint("GET", "/api/jobs/{paid_job}/payment/"),
    "pay-balance": Endpoint("POST", "/api/jobs/{paid_job}/payment/pay-balance/", lambda w, role: {"card_token": "tok_visa"}),
    "payment-approve": Endpoint("POST", "/api/jobs/{paid_job}/payment/approve/", lambda w, role: {"tip": "5.00"}),
    "payment-dispute": Endpoint("POST", "/api/jobs/{paid_job}/payment/dispute/", lambda w, role: {"description": "The tap still drips."}),
    "refund": Endpoint(
        "POST",
        "/api/payments/{payment}/refunds/",
        lambda w, role: {"amount": "10.00", "reason": "goodwill"},
        {"HTTP_IDEMPOTENCY_KEY": "refund-1"},
    ),
    "webhook": Endpoint("POST", "/api/payments/webhooks/simulated/", lambda w, role: {"id": "evt_1", "type": "charge.refunded"}),
    "finance": Endpoint("GET", "/api/finance/"),
    "board": Endpoint("GET", "/api/board/"),
    "leads": Endpoint("GET", "/api/leads/"),
    "lead-seen": Endpoint("POST", "/api/leads/{lead}/seen/"),
    "bids-list": Endpoint("GET", "/api/jobs/{job}/bids/"),
    "bid-place": Endpoint("POST", "/api/jobs/{job}/bids/", lambda w, role: {"amount": "99.00"}),
    "bid-revise": Endpoint("PATCH", "/api/bids/{bid}/", lambda w, role: {"amount": "110.00"}),
    "bid-withdraw": Endpoint("POST", "/api/bids/{bid}/withdraw/"),
    "bid-shortlist": Endpoint("POST", "/api/bids/{bid}/shortlist/"),
    "bid-decline": Endpoint("POST", "/api/bids/{bid}/decline/", lambda w, role: {"reason": "too dear"}),
    "notifications": Endpoint("GET", "/api/notifications/"),
    "unread-count": Endpoint("GET", "/api/notifications/unread-count/"),
    "mark-read": Endpoint("POST", "/api/notifications/read/", lambda w, role: {}),
    "slots": Endpoint("GET", "/api/jobs/{awarded_job}/slots/?duration=60&days=3"),
    "appointment-book": Endpoint(
        "POST",
        "/api/jobs/{awarded_job}/appointment/",
        lambda w, role: {"worker": w.worker.pk, "starts_at": _iso(10), "duration_minutes": 60},
    ),
    "appointment-get": Endpoint("GET", "/api/jobs/{scheduled_job}/appointment/"),
    "appointment-patch": Endpoint("PATCH", "/api/jobs/{scheduled_job}/appointment/", lambda w, role: {"starts_at": _iso(14, weeks=3)}),
    "appointment-cancel": Endpoint("POST", "/api/jobs/{scheduled_job}/appointment/cancel/", lambda w, role: {"reason": "away"}),
    "workers": Endpoint("GET", "/api/workers/"),
    "worker-hours": Endpoint(
        "PUT", "/api/workers/{worker}/hours/", lambda w, role: {"hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}]}
    ),
    "worker-time-off": Endpoint(
        "POST", "/api/workers/{worker}/time-off/", lambda w, role: {"starts_at": _iso(8, weeks=5), "ends_at": _iso(12, weeks=5)}
    ),
    "worker-calendar-feed": Endpoint("POST", "/api/workers/{worker}/calendar-feed/"),
    "calendar": Endpoint("GET", "/api/calendar/"),
    "worker-route": Endpoint("GET", "/api/workers/{worker}/route/"),
    "appointment-confirm": Endpoint("POST", "/api/jobs/{scheduled_job}/appointment/confirm/"),
    "proposals-get": Endpoint("GET", "/api/jobs/{awarded_job}/proposals/"),
    "proposal-create": Endpoint(
        "POST",
        "/api/jobs/{awarded_job}/proposals/",
        lambda w, role: {"worker": w.worker.pk, "starts": [_iso(10), _iso(13)], "duration_minutes": 60},
    ),
    "dispatch": Endpoint("GET", "/api/dispatch/"),
    "my-appointments": Endpoint("GET", "/api/me/appointments/"),
    "visit-get": Endpoint("GET", "/api/jobs/{scheduled_job}/visit/"),
    "visit-act": Endpoint("POST", "/api/jobs/{scheduled_job}/visit/", lambda w, role: {"action": "on_the_way"}),
    "tracking-pings": Endpoint(
        "POST",
        "/api/tracking/pings/",
        lambda w, role: {"job": w.scheduled_job.pk, "pings": [{"lat": 51.5, "lng": -0.12, "accuracy_m": 10, "recorded_at": _iso(10)}]},
    ),
    "chat-threads": Endpoint("GET", "/api/jobs/{job}/chat/"),
    "chat-messages": Endpoint("GET", "/api/chat/{thread}/messages/"),
    "chat-send": Endpoint("POST", "/api/chat/{thread}/messages/", lambda w, role: {"text": f"Hello from {role}"}),
    "chat-read": Endpoint("POST", "/api/chat/{thread}/read/", lambda w, role: {"up_to": 0}),
    "notification-prefs-get": Endpoint("GET", "/api/notifications/preferences/"),
    "notification-prefs-put": Endpoint(
        "PUT",
        "/api/notifications/preferences/",
        lambda w, role: {"phone": "", "important": {"email": True, "sms": True}, "updates": {"email": False, "sms": False}},
    ),
    "job-timeline": Endpoint("GET", "/api/jobs/{job}/timeline/"),
    "insights": Endpoint("GET", "/api/insights/"),
    "insights-csv": Endpoint("GET", "/api/insights/csv/"),
    "insights-platform": Endpoint("GET", "/api/insights/platform/"),
    "insights-platform-csv": Endpoint("GET", "/api/insights/platform/csv/"),
    "review-post": Endpoint(
        "POST",
        "/api/jobs/{paid_job}/review/",
        lambda w, role: {"rating": 5, "aspects": dict.fromkeys(("punctuality", "quality", "value", "communication"), 5)},
    ),
    "pro-reviews": Endpoint("GET", "/api/pros/{pro}/reviews/"),
    "review-reply": Endpoint("POST", "/api/reviews/{review}/reply/", lambda w, role: {"reply": f"Thanks from {role}"}),
}

OPEN = dict.fromkeys(ROLES, 200)
SIGNED_IN = {**dict.fromkeys(ROLES, 200), "anon": 403}


def expect(A: int, B: int, X: int, Y: int, staff: int, anon: int = 403) -> dict[str, int]:
    return {"A": A, "B": B, "X": X, "Y": Y, "staff": staff, "anon": anon}


EXPECTED: dict[str, dict[str, int]] = {
    "signup": dict.fromkeys(ROLES, 201),
    "token": OPEN,
    "me": SIGNED_IN,
    "tokens": SIGNED_IN,  # one's own tokens only (tests/test_api_tokens.py)
    "token-revoke": expect(A=204, B=404, X=404, Y=404, staff=404),
    "tokens-revoke-all": SIGNED_IN,  # one's own
    "token-logout": expect(A=400, B=400, X=400, Y=400, staff=400),  # a session carries no token to revoke (no_token)
    "trades": OPEN,
    "places": OPEN,
    "profile-get": expect(A=403, B=403, X=200, Y=200, staff=403),
    "profile-put": expect(A=403, B=403, X=200, Y=200, staff=403),
    "pro": SIGNED_IN,
    "jobs-list": expect(A=200, B=200, X=403, Y=403, staff=200),
    "jobs-create": expect(A=201, B=201, X=403, Y=403, staff=201),
    "job-get": expect(A=200, B=404, X=200, Y=404, staff=200),
    "job-patch": expect(A=200, B=404, X=403, Y=404, staff=403),
    "job-cancel": expect(A=200, B=404, X=403, Y=404, staff=403),
    "job-award": expect(A=201, B=404, X=403, Y=404, staff=403),
    "job-start": expect(A=403, B=404, X=200, Y=404, staff=403),
    "job-complete": expect(A=403, B=404, X=409, Y=404, staff=403),  # awarded, not started: start first
    "job-cancel-awarded": expect(A=200, B=404, X=200, Y=404, staff=403),
    "quote-price": expect(A=403, B=403, X=200, Y=200, staff=403),
    "bid-quote": expect(A=200, B=404, X=200, Y=404, staff=200),
    "bid-quote-price": expect(A=200, B=404, X=403, Y=404, staff=403),
    "bid-accept": expect(A=201, B=404, X=403, Y=404, staff=403),
    "payment-get": expect(A=200, B=404, X=200, Y=404, staff=200),
    "pay-balance": expect(A=409, B=404, X=403, Y=404, staff=403),  # paid in full: nothing due
    "payment-approve": expect(A=409, B=404, X=403, Y=404, staff=403),  # paid already: nothing to sign off
    "payment-dispute": expect(A=409, B=404, X=403, Y=404, staff=403),
    "refund": expect(A=403, B=403, X=403, Y=403, staff=200),
    "webhook": dict.fromkeys(ROLES, 400),  # no sign-in: only the gateway's signature counts, and this one is unsigned
    "finance": expect(A=403, B=403, X=403, Y=403, staff=200),
    "board": expect(A=403, B=403, X=200, Y=200, staff=200),
    "leads": expect(A=403, B=403, X=200, Y=200, staff=403),
    "lead-seen": expect(A=403, B=403, X=200, Y=404, staff=403),
    "bids-list": expect(A=200, B=404, X=200, Y=404, staff=200),
    "bid-place": expect(A=403, B=404, X=409, Y=404, staff=403),  # X already bid: revise instead
    "bid-revise": expect(A=403, B=404, X=200, Y=404, staff=403),
    "bid-withdraw": expect(A=403, B=404, X=200, Y=404, staff=403),
    "bid-shortlist": expect(A=200, B=404, X=403, Y=404, staff=403),
    "bid-decline": expect(A=200, B=404, X=403, Y=404, staff=403),
    "notifications": SIGNED_IN,
    "unread-count": SIGNED_IN,
    "mark-read": SIGNED_IN,
    "slots": expect(A=200, B=404, X=200, Y=404, staff=403),
    "appointment-book": expect(A=201, B=404, X=201, Y=404, staff=403),
    "appointment-get": expect(A=200, B=404, X=200, Y=404, staff=200),
    "appointment-patch": expect(A=200, B=404, X=200, Y=404, staff=403),
    "appointment-cancel": expect(A=200, B=404, X=200, Y=404, staff=403),
    "workers": expect(A=403, B=403, X=200, Y=200, staff=403),
    "worker-hours": expect(A=403, B=403, X=200, Y=404, staff=403),
    "worker-time-off": expect(A=403, B=403, X=201, Y=404, staff=403),
    "worker-calendar-feed": expect(A=403, B=403, X=201, Y=404, staff=403),
    "calendar": expect(A=403, B=403, X=200, Y=200, staff=200),
    "worker-route": expect(A=403, B=403, X=200, Y=404, staff=403),
    "appointment-confirm": expect(A=200, B=404, X=403, Y=404, staff=403),
    "proposals-get": expect(A=200, B=404, X=200, Y=404, staff=200),
    "proposal-create": expect(A=403, B=404, X=201, Y=404, staff=403),
    "dispatch": expect(A=403, B=403, X=200, Y=200, staff=400),  # staff name the business (?owner=)
    "my-appointments": expect(A=403, B=403, X=200, Y=200, staff=403),  # anyone who works for a business: their own
    "visit-get": expect(A=200, B=404, X=200, Y=404, staff=200),
    "visit-act": expect(A=403, B=404, X=200, Y=404, staff=403),
    "tracking-pings": expect(A=403, B=404, X=409, Y=404, staff=403),  # X: not on the way yet (visit_not_active)
    "chat-threads": expect(A=200, B=404, X=200, Y=404, staff=403),  # staff read chats in admin, not as a party
    "chat-messages": expect(A=200, B=404, X=200, Y=404, staff=404),  # the thread of A and X on J
    "chat-send": expect(A=201, B=404, X=201, Y=404, staff=404),
    "chat-read": expect(A=200, B=404, X=200, Y=404, staff=404),
    "notification-prefs-get": SIGNED_IN,
    "notification-prefs-put": SIGNED_IN,  # one's own preferences only
    "job-timeline": expect(A=200, B=404, X=200, Y=404, staff=200),  # X sees its own bid, never Z's
    "insights": expect(A=403, B=403, X=200, Y=200, staff=400),  # own numbers only; staff name the tradesperson (?tradesperson=)
    "insights-csv": expect(A=403, B=403, X=200, Y=200, staff=400),
    "insights-platform": expect(A=403, B=403, X=403, Y=403, staff=200),  # staff only
    "insights-platform-csv": expect(A=403, B=403, X=403, Y=403, staff=200),
    "review-post": expect(A=409, B=404, X=403, Y=404, staff=403),  # A already reviewed the paid (completed) job: once per job
    "pro-reviews": SIGNED_IN,  # public profile
    "review-reply": expect(A=403, B=403, X=201, Y=403, staff=403),  # a visible review: anyone may see it, only X replies
}

CASES = [pytest.param(name, role, id=f"{ENDPOINTS[name].method} {ENDPOINTS[name].path} as {role}") for name in ENDPOINTS for role in ROLES]


def call(world: World, name: str, role: str) -> Any:
    endpoint = ENDPOINTS[name]
    path = endpoint.path.format(
        job=world.job.pk,
        lead=world.lead_x.pk,
        bid=world.bid_x.pk,
        pro=world.users["X"].pk,
        awarded_job=world.awarded_job.pk,
        paid_job=world.paid_job.pk,
        payment=world.payment.pk,
        worker=world.worker.pk,
        scheduled_job=world.scheduled_job.pk,
        api_token=ApiToken.objects.filter(user=world.users["A"], label="A's phone").values_list("uid", flat=True).first(),
        thread=Thread.objects.filter(job=world.job, tradesperson=world.users["X"]).values_list("pk", flat=True).first(),
        review=Review.objects.filter(job=world.paid_job).values_list("pk", flat=True).first(),
    )
    client = client_for(world.users.get(role))
    send = getattr(client, endpoint.method.lower())
    body = endpoint.body(world, role)
    headers = endpoint.headers or {}
    return send(path, **headers) if body is None else send(path, body, format="json", **headers)


def test_the_matrix_covers_every_endpoint_and_role() -> None:
    assert set(EXPECTED) == set(ENDPOINTS)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())
    assert len(CASES) == len(ENDPOINTS) * len(ROLES)


def scheduling_state() -> dict[str, Any]:
    return {
        "counts": [model.objects.count() for model in (Worker, WorkingHours, TimeOff, Appointment, SlotProposal, Reminder)],
        "confirmed": list(Appointment.objects.order_by("pk").values_list("confirmed_at", flat=True)),
        "hours": list(WorkingHours.objects.order_by("pk").values_list("pk", "weekday", "start", "end")),
        "feeds": list(Worker.objects.order_by("pk").values_list("pk", "calendar_feed_hash")),
        "appointments": list(Appointment.objects.order_by("pk").values_list("pk", "status", "worker_id", "starts_at", "ends_at")),
    }


@pytest.mark.parametrize(("name", "role"), CASES)
def test_permission_matrix(world: World, name: str, role: str) -> None:
    before = (state(), scheduling_state())
    response = call(world, name, role)
    assert response.status_code == EXPECTED[name][role], response.content
    if response.status_code >= 400:
        code = error_code(response)
        if role == "anon" and response.status_code == 403:
            assert code == "not_authenticated"
        assert (state(), scheduling_state()) == before, "a refused request wrote something"


# --- list endpoints never show other people's objects ----------------------------------------


def _ids(response: Any) -> list[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["id"] for row in rows]


def test_a_customers_job_list_holds_only_their_jobs(world: World) -> None:
    a_jobs = _ids(client_for(world.users["A"]).get("/api/jobs/"))
    b_jobs = _ids(client_for(world.users["B"]).get("/api/jobs/"))
    assert sorted(a_jobs) == sorted([world.job.pk, world.awarded_job.pk, world.paid_job.pk, world.scheduled_job.pk])
    assert len(b_jobs) == 1 and world.job.pk not in b_jobs


def test_a_tradespersons_lead_list_holds_only_their_leads(world: World) -> None:
    assert _ids(client_for(world.users["Y"]).get("/api/leads/")) == []
    x_leads = _ids(client_for(world.users["X"]).get("/api/leads/"))
    assert world.lead_x.pk in x_leads and set(Lead.objects.filter(pk__in=x_leads).values_list("tradesperson", flat=True)) == {
        world.users["X"].pk
    }


def test_a_bidder_sees_only_their_bid_while_the_customer_and_staff_see_all(world: World) -> None:
    path = f"/api/jobs/{world.job.pk}/bids/"
    assert _ids(client_for(world.users["X"]).get(path)) == [world.bid_x.pk]
    assert sorted(_ids(client_for(world.users["A"]).get(path))) == sorted([world.bid_x.pk, world.bid_z.pk])
    assert sorted(_ids(client_for(world.users["staff"]).get(path))) == sorted([world.bid_x.pk, world.bid_z.pk])


def test_notifications_are_only_ones_own(world: World) -> None:
    for name in ("A", "X"):
        titles = [row["title"] for row in client_for(world.users[name]).get("/api/notifications/").json()["results"]]
        assert titles == [f"Hello {name}"]


def test_bid_count_is_shown_to_the_jobs_customer_only(world: World) -> None:
    path = f"/api/jobs/{world.job.pk}/"
    assert client_for(world.users["A"]).get(path).json()["bid_count"] == 2
    assert client_for(world.users["X"]).get(path).json()["bid_count"] is None
    assert client_for(world.users["staff"]).get(path).json()["bid_count"] is None


# --- X's team: a dispatcher and a technician (scheduling.team) ----------------------------------------
#
# Not six more columns of the matrix: only the endpoints where a team login's answer is its own (the business's
# pages a role opens or keeps shut), in one test over one world.  Everything else treats them as what they are to
# the job: nobody (404), or not a tradesperson (403).  D dispatches X's board; T is X's technician, booked on J4.

TEAM_EXPECTED: dict[str, tuple[int, int]] = {  # endpoint: (dispatcher D, technician T)
    "profile-get": (403, 403),  # the business's profile is the owner's
    "profile-put": (403, 403),
    "leads": (403, 403),  # leads, bids and quotes are the owner's
    "board": (403, 403),
    "bid-place": (404, 404),  # never offered the job, as Y
    "quote-price": (403, 403),
    "payment-get": (404, 404),  # money: the owner's only
    "finance": (403, 403),
    "insights": (403, 403),
    "workers": (403, 403),
    "worker-hours": (403, 403),
    "calendar": (200, 403),  # the board: the owner and dispatchers
    "dispatch": (200, 403),
    "my-appointments": (200, 200),  # one's own day
    "appointment-get": (404, 404),
    "job-get": (404, 404),
    "chat-threads": (404, 404),
    "chat-messages": (404, 404),
    "job-timeline": (404, 404),
    "visit-get": (404, 200),  # the visit of a job T is booked on
    "visit-act": (404, 200),  # last: T's "on the way" is a write
}


def test_a_dispatcher_and_a_technician_of_x_get_their_roles_pages_and_no_more(world: World) -> None:
    x = world.users["X"]
    for name, worker_role in (("D", Worker.Role.DISPATCHER), ("T", Worker.Role.TECHNICIAN)):
        login = User.objects.create_user(f"team_{name}", f"{name.lower()}@example.com", "pw-123456-x", role=User.Role.TEAM)
        Worker.objects.create(owner=x, user=login, name=f"Team {name}", role=worker_role)
        world.users[name] = login
    t_worker = Worker.objects.get(user=world.users["T"])
    WorkingHours.objects.bulk_create(
        WorkingHours(worker=t_worker, weekday=h.weekday, start=h.start, end=h.end) for h in world.worker.hours.all()
    )
    Appointment.objects.filter(job=world.scheduled_job, status="booked").update(worker=t_worker)  # T does J4
    assert list(TEAM_EXPECTED)[-1] == "visit-act"
    got = {}
    for name in TEAM_EXPECTED:
        for role in ("D", "T"):
            before = (state(), scheduling_state())
            response = call(world, name, role)
            got[name, role] = response.status_code
            if response.status_code >= 400:
                error_code(response)
                assert (state(), scheduling_state()) == before, f"{name} as {role}: a refused request wrote something"
    assert got == {(name, role): TEAM_EXPECTED[name][i] for name in TEAM_EXPECTED for i, role in enumerate(("D", "T"))}
