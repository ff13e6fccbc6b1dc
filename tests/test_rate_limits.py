"""Posting, bidding and signing in are rate-limited (Redis counters): 429 with Retry-After, nothing written."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from django.test import Client

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from tests.factories import TradeFactory, offer, pro
from tests.helpers import client_for, error_code

pytestmark = pytest.mark.django_db


def job_payload() -> dict[str, str]:
    return {
        "trade": "plumbing",
        "title": "Leaky tap",
        "description": "Drips",
        "latitude": "51.5",
        "longitude": "-0.12",
        "budget_max": "100",
    }


@pytest.fixture(autouse=True)
def real_limits(settings):
    TradeFactory()
    settings.RATE_LIMIT_NAMESPACE = f"ratelimit-test-{uuid.uuid4().hex}"
    settings.RATE_LIMITS = {"job_post": (3, 3600), "bid": (2, 3600), "login": (3, 300)}


def test_a_customer_posting_too_fast_gets_429_and_nothing_is_written(customer: User) -> None:
    client = client_for(customer)
    for _ in range(3):
        assert client.post("/api/jobs/", job_payload(), format="json").status_code == 201
    refused = client.post("/api/jobs/", job_payload(), format="json")
    assert refused.status_code == 429 and error_code(refused) == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 3600 and "Too many jobs" in refused.json()["error"]["message"]
    assert Job.objects.filter(customer=customer).count() == 3
    # Someone else is not affected.
    other = User.objects.create_user("cust_rl", "rl@example.com", "pw-123456-x", role=User.Role.CUSTOMER)
    assert client_for(other).post("/api/jobs/", job_payload(), format="json").status_code == 201


def test_bidding_is_limited_per_tradesperson(customer: User) -> None:
    x = pro("rlbidder")
    client = client_for(customer)
    jobs = [Job.objects.get(pk=client.post("/api/jobs/", job_payload(), format="json").json()["id"]) for _ in range(3)]
    for job in jobs:
        offer(job, x)
    codes = [client_for(x).post(f"/api/jobs/{job.pk}/bids/", {"amount": "120.00"}, format="json").status_code for job in jobs]
    assert codes == [201, 201, 429]
    assert Bid.objects.filter(tradesperson=x).count() == 2
    assert Bid.objects.filter(tradesperson=x, amount=Decimal("144.00")).count() == 2  # 120 net + 20 % VAT: what the customer pays


def test_guessing_a_password_is_slowed_on_the_page_and_the_api(customer: User) -> None:
    page = Client()
    statuses = [page.post("/accounts/login/", {"login": "cust_a", "password": "wrong"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    blocked = page.post("/accounts/login/", {"login": "cust_a", "password": "pw-123456-x"})
    assert blocked.status_code == 429 and "Too many sign-in attempts" in blocked.content.decode()
    assert "_auth_user_id" not in page.session  # even the right password waits
    api = client_for(None)
    for _ in range(3):
        api.post("/api/auth/token/", {"username": "cust_b_x", "password": "nope"}, format="json")
    token = api.post("/api/auth/token/", {"username": "cust_b_x", "password": "nope"}, format="json")
    assert token.status_code == 429 and token["Retry-After"]
    # Another account from the same address can still sign in.
    assert page.post("/accounts/login/", {"login": "other_user", "password": "x"}).status_code == 200


def test_the_counter_is_the_cache_key_and_expires_with_its_window() -> None:
    """One round trip creates the window's counter with an expiry and adds the cost; the Django cache reads it."""
    from django.core.cache import cache

    from marketplace import ratelimit

    who = uuid.uuid4().hex
    assert ratelimit.hit("bid", who, limit=10, window=600, cost=3) is None
    assert ratelimit.hit("bid", who, limit=10, window=600, cost=4) is None
    bucket = int(time.time()) // 600
    counter = ratelimit.key("bid", who, bucket)
    assert cache.get(counter) == 7
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    assert 0 < client.ttl(cache.make_and_validate_key(counter)) <= 601
    # Past the limit: the seconds left in the window, never 0.
    wait = ratelimit.hit("bid", who, limit=10, window=600, cost=4)
    assert wait is not None and 1 <= wait <= 600
