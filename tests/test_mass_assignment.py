"""Mass assignment: privileged and read-only fields smuggled into every write of the API change nothing.

For every writing endpoint of tests/test_permissions.py's matrix (POST, PUT, PATCH) that
some role may use successfully, that role sends its ordinary body *plus* every field in
``SMUGGLED`` it does not legitimately send: status, owners (customer, tradesperson, owner,
user, sender...), ``is_staff``/``is_superuser``/``role``, amounts and prices, ids, counters,
verification flags, timestamps.  The request must answer exactly what it answers without
them (the fields are ignored) or a 400 (rejected), and afterwards:

- no account's privileges, role or activity changed, and a new account is never staff;
- who owns what did not change (jobs' customers, bids', leads' and threads' parties,
  payments' parties, workers' owners), and anything new belongs to the caller;
- no verification flag was set, and the response never echoes a smuggled value back.

Plus targeted cases where a field would matter most: a job's status and customer through
``PATCH /api/jobs/{id}/``, a bid's status and price through ``PATCH /api/bids/{id}/``,
and the price a customer pays when accepting a quote.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chat.models import Message, Thread
from jobs.models import Bid, Job, Lead, TradespersonProfile
from marketplace.accounts.models import User
from payments.models import Payment
from reviews.models import Review
from scheduling.models import Appointment, SlotProposal, Worker
from tests.helpers import client_for
from tests.test_permissions import ENDPOINTS, EXPECTED, World, build_world, call

WRITES = [name for name, endpoint in ENDPOINTS.items() if endpoint.method in ("POST", "PUT", "PATCH")]
SUCCESS = {200, 201, 202, 204}


@pytest.fixture
def world(customer: User, other_customer: User, tradesperson: User) -> World:
    """tests/test_permissions.py's world."""
    built = build_world(customer, other_customer, tradesperson)
    return built


def _acting_role(name: str) -> str | None:
    """The role whose request succeeds (the party it is for, before staff or anonymous)."""
    for role in ("A", "X", "B", "Y", "staff", "anon"):
        if EXPECTED[name][role] in SUCCESS:
            return role
    return None


CASES = [pytest.param(name, id=f"{ENDPOINTS[name].method} {ENDPOINTS[name].path}") for name in WRITES if _acting_role(name)]


def smuggled(w: World) -> dict[str, Any]:
    b, y = w.users["B"], w.users["Y"]
    return {
        "id": 987654,
        "pk": 987654,
        "status": "completed",
        "state": "paid",
        "stage": "completed",
        "customer": b.pk,
        "customer_id": b.pk,
        "tradesperson": y.pk,
        "tradesperson_id": y.pk,
        "owner": y.pk,
        "owner_id": y.pk,
        "user": b.pk,
        "user_id": b.pk,
        "sender": b.pk,
        "author": b.pk,
        "actor": b.pk,
        "proposed_by": b.pk,
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
        "role": "tradesperson",
        "groups": [1],
        "user_permissions": [1],
        "awarded_bid": w.bid_z.pk,
        "awarded_bid_id": w.bid_z.pk,
        "price": "0.01",
        "total": "0.01",
        "total_minor": 1,
        "amount_minor": 1,
        "deposit": "0.01",
        "captured": "4242.42",
        "refunded": "4242.43",
        "held": "4242.42",
        "fee": "4242.42",
        "paid": True,
        "is_id_verified": True,
        "is_insured": True,
        "is_verified": True,
        "verified": True,
        "rating": 1,
        "rating_avg": "5.0",
        "rating_count": 999,
        "bid_count": 999,
        "revision": 99,
        "sequence": 99,
        "match_round": 9,
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
        "expires_at": "2099-01-01T00:00:00Z",
        "published_at": "2000-01-01T00:00:00Z",
        "read_at": "2000-01-01T00:00:00Z",
        "moderated_by": b.pk,
        "hidden": True,
    }


def ownership() -> dict[str, Any]:
    return {
        "users": list(User.objects.order_by("pk").values_list("pk", "is_staff", "is_superuser", "role", "is_active")),
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "customer_id")),
        "bids": list(Bid.objects.order_by("pk").values_list("pk", "job_id", "tradesperson_id")),
        "leads": list(Lead.objects.order_by("pk").values_list("pk", "job_id", "tradesperson_id")),
        "threads": list(Thread.objects.order_by("pk").values_list("pk", "job_id", "customer_id", "tradesperson_id")),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "job_id", "customer_id", "tradesperson_id")),
        "reviews": list(Review.objects.order_by("pk").values_list("pk", "job_id", "customer_id", "tradesperson_id")),
        "workers": list(Worker.objects.order_by("pk").values_list("pk", "owner_id", "user_id")),
        "appointments": list(Appointment.objects.order_by("pk").values_list("pk", "job_id")),
        "verified": list(TradespersonProfile.objects.order_by("pk").values_list("pk", "is_id_verified", "is_insured")),
    }


def _new(before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    known = {row[0] for row in before}
    return [row for row in after if row[0] not in known]


def _changed(before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    now = {row[0]: row for row in after}
    return [row for row in before if row[0] in now and now[row[0]] != row]


@pytest.mark.django_db
@pytest.mark.parametrize("name", CASES)
def test_smuggled_fields_change_nothing(world: World, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    role = _acting_role(name)
    assert role is not None
    actor = world.users.get(role)
    endpoint = ENDPOINTS[name]
    legit = endpoint.body(world, role) or {}
    extra = {k: v for k, v in smuggled(world).items() if k not in legit}
    polluted = type(endpoint)(endpoint.method, endpoint.path, lambda w, r: {**extra, **legit}, endpoint.headers)
    monkeypatch.setitem(ENDPOINTS, name, polluted)
    before = ownership()

    response = call(world, name, role)

    assert response.status_code in (EXPECTED[name][role], 400), (name, response.status_code, response.content[:500])
    after = ownership()
    for table in before:
        assert _changed(before[table], after[table]) == [], f"{name}: {table} changed"
    for pk, is_staff, is_superuser, _role, is_active in _new(before["users"], after["users"]):
        assert not is_staff and not is_superuser and is_active, f"{name}: new user {pk} got privileges"
    actor_pk = actor.pk if actor is not None else None
    for _pk, customer_id in _new(before["jobs"], after["jobs"]):
        assert customer_id == actor_pk, f"{name}: a new job belongs to someone else"
    for _pk, _job, tradesperson_id in _new(before["bids"], after["bids"]):
        assert tradesperson_id == actor_pk, f"{name}: a new bid belongs to someone else"
    assert not Message.objects.exclude(sender_id__in=[u.pk for u in world.users.values()]).exists()
    if name == "chat-send":
        assert Message.objects.order_by("-pk").first().sender_id == actor_pk  # type: ignore[union-attr]
    if name == "proposal-create":
        assert set(SlotProposal.objects.values_list("proposed_by_id", flat=True)) == {actor_pk}

    body = response.json() if response.content and response.get("Content-Type", "").startswith("application/json") else None
    if isinstance(body, dict) and response.status_code in SUCCESS:
        # Distinctive values only: a boolean may be legitimately what was smuggled (the tables above check those).
        echoed = {k: body[k] for k in extra if k in body and body[k] == extra[k] and not isinstance(extra[k], bool)}
        assert echoed == {}, f"{name}: the response echoes smuggled values {echoed}"


def test_every_writing_endpoint_is_covered() -> None:
    uncovered = [name for name in WRITES if _acting_role(name) is None]
    # These succeed for nobody in the matrix's world (a business rule or a signature says no first; the matrix's
    # clients sign in without an API token, so logging a token out answers 400 no_token).
    assert set(uncovered) == {
        "webhook", "pay-balance", "payment-approve", "payment-dispute", "bid-place", "tracking-pings", "review-post", "job-complete",
        "token-logout",
    }  # fmt: skip
    assert len(CASES) == len(WRITES) - len(uncovered)


# --- where a smuggled field would matter most -----------------------------------------------


@pytest.mark.django_db
def test_a_customer_cannot_set_a_jobs_status_customer_or_award_by_patching(world: World) -> None:
    a = client_for(world.users["A"])
    response = a.patch(
        f"/api/jobs/{world.job.pk}/",
        {"title": "New title", "status": "completed", "customer": world.users["B"].pk, "awarded_bid": world.bid_z.pk, "bid_count": 0},
        format="json",
    )
    assert response.status_code in (200, 400)
    job = Job.objects.get(pk=world.job.pk)
    assert (job.status, job.customer_id, job.awarded_bid_id) == (Job.Status.OPEN, world.users["A"].pk, None)


@pytest.mark.django_db
def test_a_tradesperson_cannot_set_a_bids_status_or_move_it_by_patching(world: World) -> None:
    x = client_for(world.users["X"])
    response = x.patch(
        f"/api/bids/{world.bid_x.pk}/",
        {"amount": "130.00", "status": "accepted", "job": world.awarded_job.pk, "tradesperson": world.users["Y"].pk},
        format="json",
    )
    assert response.status_code in (200, 400)
    bid = Bid.objects.get(pk=world.bid_x.pk)
    assert (bid.status, bid.job_id, bid.tradesperson_id) == (Bid.Status.ACTIVE, world.job.pk, world.users["X"].pk)


@pytest.mark.django_db
def test_accepting_a_quote_charges_the_quoted_price_whatever_the_body_says(world: World) -> None:
    a = client_for(world.users["A"])
    body = {
        "version": 1,
        "tier": "standard",
        "card_token": "tok_visa",
        "amount": "0.01",
        "total": "0.01",
        "deposit": "0.01",
        "price": "0.01",
    }
    response = a.post(f"/api/bids/{world.bid_x.pk}/accept/", body, format="json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        payment = Payment.objects.get(job=world.job)
        assert payment.held > Decimal("1.00") or payment.captured > Decimal("1.00")


@pytest.mark.django_db
def test_signing_up_never_makes_staff(client) -> None:
    body = {
        "username": "sneaky",
        "email": "s@example.com",
        "password": "a-long-pass-phrase-9",
        "role": "customer",
        "is_staff": True,
        "is_superuser": True,
        "groups": [1],
    }
    response = client.post("/api/auth/signup/", body, content_type="application/json")
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        user = User.objects.get(username="sneaky")
        assert not user.is_staff and not user.is_superuser and not user.groups.exists()
