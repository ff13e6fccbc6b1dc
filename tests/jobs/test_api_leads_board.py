"""Leads and board API: a tradesperson's lead ledger, and the searchable board of open jobs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from jobs.models import Lead
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from tests.factories import BRIXTON, make_pro, make_profile, offer, place_bid, post_job, trade
from tests.helpers import client_for, error_code, rebuild_board, state

pytestmark = pytest.mark.django_db


# --- leads -----------------------------------------------------------------------------------


def test_leads_are_listed_newest_first_with_a_job_summary(customer, tradesperson) -> None:
    make_profile(tradesperson)
    first = offer(post_job(customer, title="First"), tradesperson, distance="2.50")
    second = offer(post_job(customer, title="Second", is_emergency=True), tradesperson)
    Lead.objects.filter(pk=first.pk).update(offered_at=timezone.now() - timedelta(minutes=5))
    place_bid(first.job, tradesperson)
    body = client_for(tradesperson).get("/api/leads/").json()
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert (newest["id"], newest["job"]["title"], newest["job"]["is_emergency"], newest["bid_at"]) == (second.pk, "Second", True, None)
    assert (oldest["id"], oldest["distance_km"], oldest["job"]["status"], oldest["job"]["trade_name"]) == (
        first.pk,
        "2.50",
        "open",
        "Plumbing",
    )
    assert oldest["bid_at"] is not None and oldest["seen_at"] is None
    assert set(newest["job"]) == {
        "id", "trade", "trade_name", "title", "place", "budget_min", "budget_max",
        "window_start", "window_end", "is_emergency", "status", "created_at",
    }  # fmt: skip


def test_marking_a_lead_seen_happens_once(customer, tradesperson) -> None:
    make_profile(tradesperson)
    lead = offer(post_job(customer), tradesperson)
    api = client_for(tradesperson)
    first = api.post(f"/api/leads/{lead.pk}/seen/")
    assert first.status_code == 200 and first.json()["seen_at"] is not None
    second = api.post(f"/api/leads/{lead.pk}/seen/")
    assert second.json()["seen_at"] == first.json()["seen_at"]
    assert OutboxEvent.objects.filter(event_type="lead.seen").count() == 1


def test_someone_elses_lead_is_404(customer, tradesperson) -> None:
    make_profile(tradesperson)
    lead = offer(post_job(customer), tradesperson)
    stranger = make_pro("trade_y")
    before = state()
    response = client_for(stranger).post(f"/api/leads/{lead.pk}/seen/")
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert client_for(stranger).get("/api/leads/").json()["results"] == []
    assert state() == before


def test_leads_are_for_tradespeople(customer) -> None:
    response = client_for(customer).get("/api/leads/")
    assert response.status_code == 403 and error_code(response) == "not_a_tradesperson"


# --- board -----------------------------------------------------------------------------------


@pytest.fixture
def board(customer):
    """Three open jobs and a cancelled one on the board read model."""
    electrical = trade("electrical", "Electrical")
    islington = {"latitude": Decimal("51.5462"), "longitude": Decimal("-0.1033")}
    brixton = {"latitude": BRIXTON[0], "longitude": BRIXTON[1]}
    jobs = {
        "islington": post_job(customer, title="Boiler not firing", description="Combi shows F28", **islington),
        "sparks": post_job(customer, title="Replace consumer unit", trade=electrical, budget_min=Decimal("400"), budget_max=Decimal("800")),
        "brixton": post_job(customer, title="Burst pipe", description="Water everywhere", is_emergency=True, **brixton),
        "gone": post_job(customer, title="Cancelled boiler job"),
    }
    client_for(customer).post(f"/api/jobs/{jobs['gone'].pk}/cancel/")
    rebuild_board()
    return jobs


def board_ids(user: User, **params) -> list[int]:
    response = client_for(user).get("/api/board/", params)
    assert response.status_code == 200, response.content
    return [row["job_id"] for row in response.json()["results"]]


def test_the_board_lists_open_jobs_emergencies_first(board, tradesperson) -> None:
    response = client_for(tradesperson).get("/api/board/")
    body = response.json()
    assert body["count"] == 3 and set(body) == {"count", "next", "previous", "results"}
    assert body["results"][0]["job_id"] == board["brixton"].pk
    assert all(row["distance_km"] is None for row in body["results"])  # no profile, no location


def test_distances_are_from_the_tradespersons_base_and_sorted(board, tradesperson) -> None:
    make_profile(tradesperson, at=BRIXTON)
    rows = client_for(tradesperson).get("/api/board/").json()["results"]
    assert rows[0]["job_id"] == board["brixton"].pk and rows[0]["distance_km"] == 0.0
    distances = [row["distance_km"] for row in rows if not row["is_emergency"]]
    assert distances == sorted(distances) and all(d > 5 for d in distances)


def test_explicit_coordinates_and_a_radius(board, tradesperson) -> None:
    make_profile(tradesperson, at=BRIXTON)
    near_islington = board_ids(tradesperson, lat="51.5462", lon="-0.1033", max_km="2")
    assert near_islington == [board["islington"].pk]


def test_filters_by_trade_budget_emergency_and_text(board, tradesperson) -> None:
    assert board_ids(tradesperson, trade="electrical") == [board["sparks"].pk]
    assert board_ids(tradesperson, budget_min="300") == [board["sparks"].pk]
    assert set(board_ids(tradesperson, budget_max="100")) == {board["islington"].pk, board["brixton"].pk}
    assert board_ids(tradesperson, emergency="1") == [board["brixton"].pk]
    assert board_ids(tradesperson, q="boiler") == [board["islington"].pk]
    assert board_ids(tradesperson, trade="astrology") == []


def test_staff_see_the_board_too(board, db) -> None:
    staff = User.objects.create_user("staff_s", password="pw-123456-x", is_staff=True)
    assert len(board_ids(staff)) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "abc", "lon": "0"}, "lat"),
        ({"lat": "91", "lon": "0"}, "lat"),
        ({"lat": "51.5", "lon": "inf"}, "lon"),
        ({"lat": "51.5"}, "lon"),
        ({"max_km": "-1"}, "max_km"),
        ({"max_km": "ten"}, "max_km"),
        ({"max_km": "10"}, "max_km"),  # no location to measure from
        ({"budget_min": "cheap"}, "budget_min"),
        ({"emergency": "perhaps"}, "emergency"),
        ({"limit": "x"}, None),
    ],
)
def test_bad_board_queries_are_400(board, tradesperson, params, field) -> None:
    response = client_for(tradesperson).get("/api/board/", params)
    if field is None:  # the paginator ignores a bad limit and uses the default page size
        assert response.status_code == 200
        return
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert field in response.json()["error"]["fields"]


def test_the_board_is_not_for_customers(board, customer) -> None:
    response = client_for(customer).get("/api/board/")
    assert response.status_code == 403 and error_code(response) == "not_a_tradesperson"
