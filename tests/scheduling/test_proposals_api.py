"""The tradesperson proposes times and the customer books one; confirming; the dispatch board API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from scheduling.models import Appointment, SlotProposal
from tests.factories import pro
from tests.helpers import client_for, error_code

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def bob() -> User:
    return pro("bobprop")


@pytest.fixture
def worker(bob: User) -> Any:
    return worker_all_week(bob)


@pytest.fixture
def job(customer: User, bob: User) -> Job:
    return awarded_job(customer, bob)


def propose(user: User, job: Job, worker: Any, starts: list[datetime], minutes: int = 60) -> Any:
    body = {"worker": worker.pk, "starts": [iso(s) for s in starts], "duration_minutes": minutes, "message": "Any of these suit?"}
    return client_for(user).post(f"/api/jobs/{job.pk}/proposals/", body, format="json")


def test_the_tradesperson_proposes_and_the_customer_books_one(customer: User, bob: User, job: Job, worker: Any) -> None:
    monday = future_monday(10)
    created = propose(bob, job, worker, [monday + timedelta(hours=3), monday])
    assert created.status_code == 201, created.content
    proposal = created.json()["proposal"]
    assert [s["starts_at"] for s in proposal["starts"]] == [iso(monday), iso(monday + timedelta(hours=3))]  # in time order
    assert proposal["business_name"] and proposal["message"] == "Any of these suit?"
    seen = client_for(customer).get(f"/api/jobs/{job.pk}/proposals/").json()["proposal"]
    assert seen["id"] == proposal["id"] and seen["starts"][0]["starts_label"]

    off_menu = client_for(customer).post(
        f"/api/jobs/{job.pk}/proposals/{proposal['id']}/accept/", {"start": iso(monday + timedelta(hours=1))}, format="json"
    )
    assert off_menu.status_code == 400 and error_code(off_menu) == "not_proposed"
    not_theirs = client_for(bob).post(f"/api/jobs/{job.pk}/proposals/{proposal['id']}/accept/", {"start": iso(monday)}, format="json")
    assert not_theirs.status_code == 403

    booked = client_for(customer).post(f"/api/jobs/{job.pk}/proposals/{proposal['id']}/accept/", {"start": iso(monday)}, format="json")
    assert booked.status_code == 201, booked.content
    assert booked.json()["starts_at"] == iso(monday) and booked.json()["confirmed_at"] is None
    assert SlotProposal.objects.get(pk=proposal["id"]).status == SlotProposal.Status.ACCEPTED
    assert client_for(customer).get(f"/api/jobs/{job.pk}/proposals/").json() == {"proposal": None}
    again = client_for(customer).post(f"/api/jobs/{job.pk}/proposals/{proposal['id']}/accept/", {"start": iso(monday)}, format="json")
    assert again.status_code == 409 and error_code(again) == "proposal_closed"
    types = list(OutboxEvent.objects.filter(key=str(job.pk)).order_by("sequence").values_list("event_type", flat=True))
    assert types[-3:] == ["appointment.proposed", "job.status_changed", "appointment.booked"]


def test_a_busy_or_bad_proposed_time_is_refused_with_its_position(customer: User, bob: User, job: Job, worker: Any) -> None:
    monday = future_monday(10)
    other = awarded_job(customer, bob)
    client_for(customer).post(
        f"/api/jobs/{other.pk}/appointment/", {"worker": worker.pk, "starts_at": iso(monday), "duration_minutes": 60}, format="json"
    )
    busy = propose(bob, job, worker, [monday - timedelta(hours=2), monday])
    assert busy.status_code == 409 and error_code(busy) == "slot_taken"
    assert busy.json()["error"]["message"].startswith("Time 2 (") and busy.json()["error"]["suggestions"]
    assert propose(bob, job, worker, []).status_code == 400
    assert error_code(propose(bob, job, worker, [monday + timedelta(days=1)] * 2)) == "duplicate_starts"
    naive = client_for(bob).post(
        f"/api/jobs/{job.pk}/proposals/", {"worker": worker.pk, "starts": ["2030-01-07T10:00:00"], "duration_minutes": 60}, format="json"
    )
    assert naive.status_code == 400
    assert propose(customer, job, worker, [monday + timedelta(days=1)]).status_code == 403
    assert not SlotProposal.objects.filter(job=job).exists()


def test_a_new_proposal_replaces_the_open_one_and_a_direct_booking_withdraws_it(customer: User, bob: User, job: Job, worker: Any) -> None:
    monday = future_monday(10)
    first = propose(bob, job, worker, [monday]).json()["proposal"]
    second = propose(bob, job, worker, [monday + timedelta(days=1)]).json()["proposal"]
    assert SlotProposal.objects.get(pk=first["id"]).status == SlotProposal.Status.WITHDRAWN
    client_for(customer).post(
        f"/api/jobs/{job.pk}/appointment/", {"worker": worker.pk, "starts_at": iso(monday), "duration_minutes": 60}, format="json"
    )
    assert SlotProposal.objects.get(pk=second["id"]).status == SlotProposal.Status.WITHDRAWN


def test_the_customer_confirms_the_time(customer: User, bob: User, job: Job, worker: Any) -> None:
    monday = future_monday(10)
    path = f"/api/jobs/{job.pk}/appointment/"
    client_for(customer).post(path, {"worker": worker.pk, "starts_at": iso(monday), "duration_minutes": 60}, format="json")
    assert client_for(bob).post(f"{path}confirm/").status_code == 403
    confirmed = client_for(customer).post(f"{path}confirm/")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"]
    assert client_for(bob).get(path).json()["confirmed_at"] == confirmed.json()["confirmed_at"]
    moved = client_for(bob).patch(path, {"starts_at": iso(monday + timedelta(hours=2))}, format="json")
    assert moved.status_code == 200 and moved.json()["confirmed_at"] is None
    nothing = awarded_job(customer, bob)
    assert client_for(customer).post(f"/api/jobs/{nothing.pk}/appointment/confirm/").status_code == 404


def test_the_dispatch_board_api(customer: User, bob: User, job: Job, worker: Any) -> None:
    monday = future_monday(10)
    client_for(customer).post(
        f"/api/jobs/{job.pk}/appointment/", {"worker": worker.pk, "starts_at": iso(monday), "duration_minutes": 120}, format="json"
    )
    board = client_for(bob).get("/api/dispatch/", {"from": monday.date().isoformat(), "days": "2"})
    assert board.status_code == 200, board.content
    body = board.json()
    cell = next(c for c in body["cells"] if c["day"] == monday.date().isoformat())
    assert [a["job_id"] for a in cell["appointments"]] == [job.pk]
    assert cell["working_minutes"] == 600 and cell["free_minutes"] == 600 - 120 - 30
    assert client_for(customer).get("/api/dispatch/").status_code == 403
    assert client_for(bob).get("/api/dispatch/", {"days": 99}).status_code == 400
    assert Appointment.objects.filter(job=job).count() == 1
    other = pro("evedisp")
    assert client_for(other).get("/api/dispatch/", {"from": monday.date().isoformat()}).json()["conflicts"] == 0
    assert all(not c["appointments"] for c in client_for(other).get("/api/dispatch/", {"from": monday.date().isoformat()}).json()["cells"])
