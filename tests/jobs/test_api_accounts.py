"""Accounts API: sign-up, tokens, who am I, and how apps and browsers authenticate."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from marketplace.accounts.models import ApiToken, User
from marketplace.accounts.services import api_token_create
from tests.factories import make_profile, trade
from tests.helpers import client_for, error_code, state

pytestmark = pytest.mark.django_db

SIGNUP = {"username": "dana", "email": "dana@example.com", "password": "correct-horse-battery-9", "role": "customer"}


def test_signing_up_creates_the_account_and_a_working_token(db) -> None:
    response = APIClient().post("/api/auth/signup/", {**SIGNUP, "display_name": "Dana"}, format="json")
    assert response.status_code == 201
    body = response.json()
    user = User.objects.get(username="dana")
    assert body == {"id": user.pk, "username": "dana", "role": "customer", "token": body["token"]}
    assert body["token"].startswith("tl_")
    assert ApiToken.objects.get(user=user).label == "Sign-up"
    assert user.display_name == "Dana" and user.check_password(SIGNUP["password"])
    me = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200 and me.json()["username"] == "dana"


def test_a_tradesperson_signs_up_as_one(db) -> None:
    response = APIClient().post("/api/auth/signup/", {**SIGNUP, "role": "tradesperson"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "tradesperson"
    assert User.objects.get(username="dana").is_tradesperson


def test_sign_up_ignores_fields_that_would_make_staff(db) -> None:
    response = APIClient().post("/api/auth/signup/", {**SIGNUP, "is_staff": True, "is_superuser": True}, format="json")
    assert response.status_code == 201
    user = User.objects.get(username="dana")
    assert not user.is_staff and not user.is_superuser


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"password": "123"}, "invalid_account"),  # weak password (validators)
        ({"password": "dana"}, "invalid_account"),
        ({"time_zone": "Mars/Olympus"}, "invalid_account"),
        ({"username": "bad name!"}, "invalid_account"),
        ({"role": "admin"}, "validation_error"),
        ({"email": "not-an-email"}, "validation_error"),
        ({"username": ""}, "validation_error"),
    ],
)
def test_bad_sign_ups_are_refused_and_create_nothing(db, change, code) -> None:
    before = state()
    response = APIClient().post("/api/auth/signup/", {**SIGNUP, **change}, format="json")
    assert response.status_code == 400
    assert error_code(response) == code
    assert state() == before


def test_a_taken_username_is_refused(customer) -> None:
    before = state()
    response = APIClient().post("/api/auth/signup/", {**SIGNUP, "username": customer.username}, format="json")
    assert response.status_code == 400
    assert error_code(response) == "username_taken"  # the unique index decides, races included
    assert "username" in response.json()["error"]["message"].lower()
    assert state() == before


def test_the_token_endpoint_gives_each_device_its_own_token(customer) -> None:
    first = APIClient().post("/api/auth/token/", {"username": "cust_a", "password": "pw-123456-x", "label": "Phone"}, format="json")
    second = APIClient().post("/api/auth/token/", {"username": "cust_a", "password": "pw-123456-x"}, format="json")
    assert first.status_code == second.status_code == 200
    assert first.json()["token"] != second.json()["token"]
    assert set(first.json()) == {"token", "id", "expiry"}
    assert sorted(ApiToken.objects.filter(user=customer).values_list("label", flat=True)) == ["", "Phone"]
    for response in (first, second):
        me = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        assert me.status_code == 200 and me.json()["username"] == "cust_a"


@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_wrong_credentials_get_a_400_in_our_error_shape(customer, password) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "cust_a", "password": password}, format="json")
    assert response.status_code == 400
    assert error_code(response) == ("invalid_credentials" if password else "validation_error")
    assert not ApiToken.objects.exists()


def test_a_disabled_account_gets_no_token(customer) -> None:
    customer.is_active = False
    customer.save()
    response = APIClient().post("/api/auth/token/", {"username": "cust_a", "password": "pw-123456-x"}, format="json")
    assert response.status_code == 400 and error_code(response) == "invalid_credentials"


def test_a_bad_token_is_refused(db) -> None:
    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 403 and error_code(response) == "authentication_failed"


def test_me_for_a_customer_has_no_profile(customer) -> None:
    body = client_for(customer).get("/api/me/").json()
    assert body == {
        "id": customer.pk,
        "username": "cust_a",
        "email": "a@example.com",
        "display_name": "",
        "role": "customer",
        "time_zone": "Europe/London",
        "is_staff": False,
        "profile": None,
    }


def test_me_for_a_tradesperson_includes_their_profile(tradesperson) -> None:
    assert client_for(tradesperson).get("/api/me/").json()["profile"] is None
    make_profile(tradesperson, trades=[trade(), trade("heating", "Heating")])
    profile = client_for(tradesperson).get("/api/me/").json()["profile"]
    assert profile["business_name"] == "Trade_X Ltd"
    assert [t["slug"] for t in profile["trades"]] == ["heating", "plumbing"]
    assert profile["base_latitude"] == "51.53620"


def test_a_browser_session_needs_its_csrf_token_for_writes(customer) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username="cust_a", password="pw-123456-x")
    assert browser.get("/api/me/").status_code == 200
    response = browser.post("/api/notifications/read/", {}, format="json")
    assert response.status_code == 403 and error_code(response) == "permission_denied"
    assert "CSRF" in response.json()["error"]["message"]


def test_an_app_with_a_token_needs_no_csrf_token(customer) -> None:
    _, token = api_token_create(user=customer)
    app = APIClient(enforce_csrf_checks=True)
    response = app.post("/api/notifications/read/", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json() == {"marked": 0}


def test_sign_up_works_from_a_browser_without_a_csrf_token(customer) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    browser.login(username="cust_a", password="pw-123456-x")
    assert browser.post("/api/auth/signup/", SIGNUP, format="json").status_code == 201
