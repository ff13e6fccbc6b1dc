"""API tokens (django-rest-knox): obtain, list, revoke one, revoke all, sign an app out, expiry, limits, and who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from marketplace.accounts.models import ApiToken, User
from marketplace.accounts.services import api_token_create
from tests.helpers import client_for, error_code

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456-x"  # tests/factories.py's


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def obtain(username: str = "cust_a", password: str = PASSWORD, label: str = "") -> tuple[int, dict]:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": password, "label": label}, format="json")
    return response.status_code, response.json()


def test_a_token_is_stored_hashed_and_shown_once(customer: User) -> None:
    status, body = obtain(label="Bob's phone")
    assert status == 200 and body["token"].startswith("tl_")
    row = ApiToken.objects.get(user=customer)
    assert str(row.uid) == body["id"] and row.label == "Bob's phone"
    # Only a digest and the first characters are kept: the token is nowhere in the row.
    assert body["token"] not in (row.digest, row.token_key) and body["token"].startswith(row.token_key)
    listed = bearer(body["token"]).get("/api/auth/tokens/").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0] and "digest" not in listed[0]
    assert set(listed[0]) == {"id", "label", "starts_with", "created", "expiry", "last_used_at"}


def test_a_token_expires_after_its_ttl(customer: User, settings) -> None:
    settings.API_TOKEN_TTL_HOURS = 24
    start = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _, token = api_token_create(user=customer, label="phone")
        assert ApiToken.objects.get(user=customer).expiry == start + timedelta(hours=24)
        assert bearer(token).get("/api/me/").status_code == 200
    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False):
        assert bearer(token).get("/api/me/").status_code == 200
    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False):
        refused = bearer(token).get("/api/me/")
        assert refused.status_code in (401, 403) and error_code(refused) == "authentication_failed"
        assert not ApiToken.objects.filter(user=customer).exists()  # knox deletes it when presented


def test_last_used_is_recorded_at_most_once_a_minute(customer: User) -> None:
    start = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _, token = api_token_create(user=customer)
        assert ApiToken.objects.get().last_used_at is None
        bearer(token).get("/api/me/")
        assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        bearer(token).get("/api/me/")
        assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        bearer(token).get("/api/me/")
        assert ApiToken.objects.get().last_used_at == start + timedelta(seconds=61)


def test_revoking_one_token_leaves_the_others_working(customer: User) -> None:
    phone, laptop = api_token_create(user=customer, label="phone"), api_token_create(user=customer, label="laptop")
    response = bearer(laptop[1]).delete(f"/api/auth/tokens/{phone[0].uid}/")
    assert response.status_code == 204
    assert error_code(bearer(phone[1]).get("/api/me/")) == "authentication_failed"
    assert bearer(laptop[1]).get("/api/me/").status_code == 200
    again = bearer(laptop[1]).delete(f"/api/auth/tokens/{phone[0].uid}/")
    assert again.status_code == 404 and error_code(again) == "token_not_found"


def test_logout_revokes_the_token_it_is_sent_with(customer: User) -> None:
    phone, laptop = api_token_create(user=customer), api_token_create(user=customer)
    assert bearer(phone[1]).post("/api/auth/logout/").status_code == 204
    assert bearer(phone[1]).get("/api/me/").status_code in (401, 403)
    assert bearer(laptop[1]).get("/api/me/").status_code == 200
    # A browser session has no token to revoke: a sentence, not a crash.
    refused = client_for(customer).post("/api/auth/logout/")
    assert refused.status_code == 400 and error_code(refused) == "no_token"


def test_revoke_all_signs_every_app_out(customer: User, other_customer: User) -> None:
    tokens = [api_token_create(user=customer)[1] for _ in range(3)]
    theirs = api_token_create(user=other_customer)[1]
    response = bearer(tokens[0]).post("/api/auth/tokens/revoke-all/")
    assert response.status_code == 200 and response.json() == {"revoked": 3}
    assert all(bearer(t).get("/api/me/").status_code in (401, 403) for t in tokens)
    assert bearer(theirs).get("/api/me/").status_code == 200
    assert client_for(customer).post("/api/auth/tokens/revoke-all/").json() == {"revoked": 0}


def test_too_many_tokens_are_refused_with_a_sentence(customer: User, settings) -> None:
    settings.API_TOKENS_PER_USER = 2
    assert obtain()[0] == obtain()[0] == 200
    status, body = obtain()
    assert status == 409 and body["error"]["code"] == "too_many_tokens"
    assert "Revoke one" in body["error"]["message"]
    assert ApiToken.objects.filter(user=customer).count() == 2


def test_throttling_still_refuses_after_too_many_bad_passwords(customer: User, settings) -> None:
    settings.RATE_LIMIT_NAMESPACE = f"ratelimit-test-{uuid.uuid4().hex}"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": (3, 300)}
    assert [obtain(password="wrong")[0] for _ in range(3)] == [400, 400, 400]
    status, body = obtain()  # even the right password waits
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert not ApiToken.objects.exists()


# --- who may do what ------------------------------------------------------------------
# Each row: a request on the owner's token; anonymous is refused, another user cannot see or revoke it
# (404, so whether it exists stays private), the owner can, by session or by token.


def _owner_token(customer: User) -> ApiToken:
    row, _ = api_token_create(user=customer, label="phone")
    return row


@pytest.mark.parametrize("who", ["anon", "other_session", "other_token", "owner_session", "owner_token"])
@pytest.mark.parametrize("action", ["list", "revoke", "revoke_all", "logout"])
def test_authorization_matrix(customer: User, other_customer: User, who: str, action: str) -> None:
    row = _owner_token(customer)
    client = {
        "anon": lambda: APIClient(),
        "other_session": lambda: client_for(other_customer),
        "other_token": lambda: bearer(api_token_create(user=other_customer)[1]),
        "owner_session": lambda: client_for(customer),
        "owner_token": lambda: bearer(api_token_create(user=customer)[1]),
    }[who]()
    if action == "list":
        response = client.get("/api/auth/tokens/")
    elif action == "revoke":
        response = client.delete(f"/api/auth/tokens/{row.uid}/")
    elif action == "revoke_all":
        response = client.post("/api/auth/tokens/revoke-all/")
    else:
        response = client.post("/api/auth/logout/")
    still_there = ApiToken.objects.filter(pk=row.pk).exists()
    if who == "anon":
        assert response.status_code in (401, 403) and error_code(response) == "not_authenticated"
        assert still_there
    elif action == "list":
        assert response.status_code == 200
        listed = {t["id"] for t in response.json()}
        assert (str(row.uid) in listed) == who.startswith("owner")
    elif action == "revoke":
        assert response.status_code == (204 if who.startswith("owner") else 404)
        assert still_there != who.startswith("owner")
    elif action == "revoke_all":
        assert response.status_code == 200
        assert still_there != who.startswith("owner")  # the other user's revoke-all revokes only theirs
    else:  # logout revokes the token the request carries, never the owner's other one
        assert response.status_code == (204 if who.endswith("token") else 400)
        assert still_there


def test_the_tokens_page_needs_a_login(db: None) -> None:
    response = Client().get("/accounts/tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
