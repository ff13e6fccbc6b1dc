"""A worker's day route over the real services and Postgres: the selector, GET /api/workers/<id>/route/, and the
dispatch board's route panels, which re-plan on the live fragment whenever an appointment is booked, moved or cancelled."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from marketplace.accounts.models import User
from scheduling.models import Appointment, Worker
from scheduling.selectors import day_routes
from scheduling.services import appointment_book, appointment_cancel, appointment_reschedule
from tests.factories import pro
from tests.helpers import client_for, error_code

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db

LAT, LNG = Decimal("51.50000"), Decimal("-0.12000")
KM = Decimal("0.00899")  # about one kilometre of latitude


@pytest.fixture
def bob() -> User:
    return pro("bobroute")


@pytest.fixture
def worker(bob: User) -> Worker:
    return worker_all_week(bob, start=time(8), end=time(18), buffer=0)


def at(hour: int, minute: int = 0) -> datetime:
    return future_monday(0) + timedelta(hours=hour, minutes=minute)


def book(customer: User, bob: User, worker: Worker, start: datetime, km: int, place: str) -> Appointment:
    job = awarded_job(customer, bob, title=f"Job in {place}", place=place, latitude=LAT + km * KM, longitude=LNG)
    return appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=60, actor=customer)


@pytest.fixture
def zigzag(customer: User, bob: User, worker: Worker) -> list[Appointment]:
    """0 km at 09:00, 6 km at 10:30, 2 km at 12:00: 20 + 15 = 35 min of driving; 0 -> 2 -> 6 km would be 10 + 15 = 25."""
    return [
        book(customer, bob, worker, at(9), 0, "Soho W1"),
        book(customer, bob, worker, at(10, 30), 6, "Hampstead NW3"),
        book(customer, bob, worker, at(12), 2, "Camden NW1"),
    ]


def test_the_selector_plans_each_workers_day_in_one_query(bob, worker, zigzag, django_assert_num_queries):
    with django_assert_num_queries(1):
        routes = day_routes(owner_id=bob.pk, day=at(0).date(), zone="Europe/London")
    route = routes[worker.pk]
    assert [s.key for s in route.stops] == [a.pk for a in zigzag]
    assert [leg.minutes for leg in route.legs] == [20, 15] and route.travel_minutes == 35
    assert [s.label for s in route.suggested] == ["Soho W1", "Camden NW1", "Hampstead NW3"] and route.saves_minutes == 10
    assert day_routes(owner_id=bob.pk, day=at(0).date() + timedelta(days=1), zone="Europe/London") == {}


def test_the_route_api_gives_stops_travel_and_the_suggestion(bob, worker, zigzag):
    response = client_for(bob).get(f"/api/workers/{worker.pk}/route/", {"date": at(0).date().isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["date"] == at(0).date().isoformat() and body["time_zone"] == "Europe/London"
    assert [(s["local_start"], s["place"], s["travel_minutes"], s["warning"]) for s in body["stops"]] == [
        ("09:00", "Soho W1", None, ""),
        ("10:30", "Hampstead NW3", 20, ""),
        ("12:00", "Camden NW1", 15, ""),
    ]
    assert body["travel_minutes"] == 35 and body["saves_minutes"] == 10 and body["method"] == "exact"
    assert body["suggestion"] == "Suggested order saves 10 min"
    assert [s["place"] for s in body["suggested_order"]] == ["Soho W1", "Camden NW1", "Hampstead NW3"]


def test_a_gap_shorter_than_the_drive_is_a_sentence(customer, bob, worker):
    book(customer, bob, worker, at(9), 0, "Soho W1")
    book(customer, bob, worker, at(10, 5), 6, "Hampstead NW3")  # 5 min gap, 20 min drive
    body = client_for(bob).get(f"/api/workers/{worker.pk}/route/", {"date": at(0).date().isoformat()}).json()
    assert body["stops"][1]["warning"] == "Needs ~20 min to get here from Soho W1; only 5 min between jobs."
    assert body["suggested_order"] == [] and body["suggestion"] == ""


def test_only_the_business_sees_a_workers_route(customer, bob, worker, zigzag):
    other = pro("everoute")
    url = f"/api/workers/{worker.pk}/route/"
    assert client_for(other).get(url).status_code == 404
    assert error_code(client_for(other).get(url)) == "not_found"
    assert client_for(customer).get(url).status_code == 403
    assert client_for(None).get(url).status_code in (401, 403)
    assert error_code(client_for(bob).get(url, {"date": "monday"})) == "validation_error"
    assert error_code(client_for(bob).get(url, {"date": "9999-12-31"})) == "validation_error"  # no day past the last one
    assert client_for(bob).get("/api/workers/999999/route/").status_code == 404
    # The worker themself, with their own login, sees their day.
    tech = User.objects.create_user("tech_route", "tech@example.com", "pw-123456-x", role=User.Role.TRADESPERSON)
    worker.user, worker.role = tech, Worker.Role.TECHNICIAN
    worker.save(update_fields=["user", "role"])
    assert client_for(tech).get(url, {"date": at(0).date().isoformat()}).json()["travel_minutes"] == 35


def test_the_dispatch_boards_route_panel_replans_when_an_appointment_is_booked_moved_or_cancelled(customer, bob, worker):
    """The board's live script refetches this fragment on every calendar.<owner> push (tests/scheduling/test_live.py)."""
    client = Client()
    client.force_login(bob)
    query = {"week": at(0).date().isoformat(), "day": at(0).date().isoformat(), "fragment": "1"}

    def panel() -> str:
        html = client.get("/dispatch/", query).content.decode()
        assert 'data-testid="routes"' in html
        return html[html.index(f'data-testid="route-panel" data-worker="{worker.pk}"') :]

    first = book(customer, bob, worker, at(9), 0, "Soho W1")
    assert panel().count('data-testid="route-stop"') == 1
    book(customer, bob, worker, at(10, 30), 6, "Hampstead NW3")
    html = panel()
    assert html.count('data-testid="route-stop"') == 2 and "~20 min" in html and "Total travel <strong>20 min</strong>" in html
    third = book(customer, bob, worker, at(12), 2, "Camden NW1")
    html = panel()
    assert "Total travel <strong>35 min</strong>" in html and "Suggested order saves 10 min" in html
    appointment_reschedule(appointment=third, starts_at=at(10), actor=bob, duration_minutes=30)  # now Soho, Camden, Hampstead
    html = panel()
    assert "Total travel <strong>25 min</strong>" in html and "Suggested order saves" not in html
    appointment_cancel(appointment=first, actor=bob)
    assert panel().count('data-testid="route-stop"') == 2
