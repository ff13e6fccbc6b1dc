"""Catalogue (trades, places) and profile API: own profile, public profiles, what never leaks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from jobs.models import ProStats, TradespersonProfile
from tests.factories import make_profile, trade
from tests.helpers import client_for, error_code, state

pytestmark = pytest.mark.django_db

PROFILE = {"business_name": "Drip Ltd", "trades": ["plumbing"], "base_latitude": "51.5", "base_longitude": "-0.1", "service_radius_km": 20}


@pytest.fixture(autouse=True)
def trades() -> None:
    trade()
    trade("electrical", "Electrical")


# --- catalogue -------------------------------------------------------------------------------


def test_anyone_can_list_trades_by_name(db) -> None:
    response = APIClient().get("/api/trades/")
    assert response.status_code == 200
    # With the questions a job of each asks (none here; tests/web/test_question_pages.py has some).
    assert response.json() == [
        {"slug": "electrical", "name": "Electrical", "questions": []},
        {"slug": "plumbing", "name": "Plumbing", "questions": []},
    ]


def test_places_search_by_name_or_postcode(db) -> None:
    by_name = APIClient().get("/api/places/", {"q": "isling"}).json()
    assert by_name[0] == {"name": "Islington", "postcode": "N1", "label": "Islington N1", "latitude": "51.53620", "longitude": "-0.10330"}
    assert APIClient().get("/api/places/", {"q": "SW2"}).json()[0]["name"] == "Brixton"
    assert len(APIClient().get("/api/places/").json()) == 10
    assert len(APIClient().get("/api/places/", {"limit": 3}).json()) == 3
    assert APIClient().get("/api/places/", {"q": "atlantis"}).json() == []


@pytest.mark.parametrize("limit", ["0", "51", "many"])
def test_places_refuse_a_bad_limit(db, limit) -> None:
    response = APIClient().get("/api/places/", {"limit": limit})
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert "limit" in response.json()["error"]["fields"]


# --- own profile -----------------------------------------------------------------------------


def test_a_new_tradesperson_has_no_profile_until_they_put_one(tradesperson) -> None:
    response = client_for(tradesperson).get("/api/profile/")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert "PUT /api/profile/" in response.json()["error"]["message"]


def test_putting_a_profile_creates_then_replaces_it(tradesperson) -> None:
    api = client_for(tradesperson)
    created = api.put("/api/profile/", PROFILE, format="json")
    assert created.status_code == 200
    assert created.json()["base_latitude"] == "51.50000" and created.json()["service_radius_km"] == 20
    replaced = api.put("/api/profile/", {**PROFILE, "business_name": "Drip & Son", "trades": ["plumbing", "electrical"]}, format="json")
    assert replaced.status_code == 200
    assert api.get("/api/profile/").json()["business_name"] == "Drip & Son"
    assert [t["slug"] for t in api.get("/api/profile/").json()["trades"]] == ["electrical", "plumbing"]
    assert TradespersonProfile.objects.count() == 1


def test_a_known_place_fills_the_base_coordinates(tradesperson) -> None:
    body = {k: v for k, v in PROFILE.items() if not k.startswith("base_")}
    response = client_for(tradesperson).put("/api/profile/", {**body, "base_place": "brixton"}, format="json")
    assert response.status_code == 200
    profile = response.json()
    assert (profile["base_place"], profile["base_latitude"], profile["base_longitude"]) == ("Brixton SW2", "51.45230", "-0.11840")


def test_badges_and_owner_cannot_be_set_through_the_api(tradesperson, customer) -> None:
    response = client_for(tradesperson).put(
        "/api/profile/", {**PROFILE, "is_id_verified": True, "is_insured": True, "user": customer.pk}, format="json"
    )
    assert response.status_code == 200
    profile = TradespersonProfile.objects.get()
    assert profile.user == tradesperson and not profile.is_id_verified and not profile.is_insured


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"trades": []}, "no_trades", None),
        ({"trades": ["astrology"]}, "validation_error", "trades"),
        ({"base_latitude": "95"}, "validation_error", "base_latitude"),
        ({"base_longitude": None}, "validation_error", "base_longitude"),
        ({"base_latitude": None, "base_longitude": None, "base_place": "Atlantis"}, "validation_error", "base_place"),
        ({"service_radius_km": 0}, "validation_error", "service_radius_km"),
        ({"service_radius_km": 201}, "validation_error", "service_radius_km"),
        ({"business_name": ""}, "validation_error", "business_name"),
        ({"bio": "x" * 2001}, "validation_error", "bio"),
    ],
)
def test_bad_profiles_are_refused_and_nothing_changes(tradesperson, change, code, field) -> None:
    make_profile(tradesperson)
    before = state()
    body = {k: v for k, v in {**PROFILE, **change}.items() if v is not None}
    response = client_for(tradesperson).put("/api/profile/", body, format="json")
    assert response.status_code == 400 and error_code(response) == code
    if field:
        assert field in response.json()["error"]["fields"]
    assert state() == before


def test_customers_have_no_business_profile(customer) -> None:
    for response in (client_for(customer).get("/api/profile/"), client_for(customer).put("/api/profile/", PROFILE, format="json")):
        assert response.status_code == 403 and error_code(response) == "not_a_tradesperson"
    assert not TradespersonProfile.objects.exists()


# --- public profiles -------------------------------------------------------------------------


def test_a_public_profile_shows_public_fields_only(tradesperson, customer) -> None:
    profile = make_profile(tradesperson, bio="Gas Safe registered")
    TradespersonProfile.objects.filter(pk=profile.pk).update(is_insured=True)
    tradesperson.email = "secret@example.com"
    tradesperson.save()
    response = client_for(customer).get(f"/api/pros/{tradesperson.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "user_id": tradesperson.pk,
        "business_name": "Trade_X Ltd",
        "bio": "Gas Safe registered",
        "trades": [{"slug": "plumbing", "name": "Plumbing"}],
        "base_place": "Islington N1",
        "service_radius_km": 15,
        "badges": {"is_id_verified": False, "is_insured": True},
        "stats": {"average_response_minutes": None, "jobs_won": 0, "rating_average": None, "rating_count": 0},
    }
    text = response.content.decode()
    assert "secret@example.com" not in text and "51.5362" not in text and "-0.1033" not in text


def test_a_public_profile_shows_the_read_model_stats(tradesperson, customer) -> None:
    make_profile(tradesperson)
    ProStats.objects.create(
        tradesperson_id=tradesperson.pk,
        bids_placed=2,
        response_seconds_total=600,
        jobs_won=1,
        rating_average=Decimal("4.50"),
        rating_count=2,
    )
    stats = client_for(customer).get(f"/api/pros/{tradesperson.pk}/").json()["stats"]
    assert stats == {"average_response_minutes": 5.0, "jobs_won": 1, "rating_average": "4.50", "rating_count": 2}


def test_no_public_profile_for_customers_strangers_or_disabled_accounts(tradesperson, customer) -> None:
    make_profile(tradesperson)
    api = client_for(customer)
    assert api.get(f"/api/pros/{customer.pk}/").status_code == 404
    assert api.get("/api/pros/999999/").status_code == 404
    tradesperson.is_active = False
    tradesperson.save()
    response = api.get(f"/api/pros/{tradesperson.pk}/")
    assert response.status_code == 404 and error_code(response) == "not_found"
