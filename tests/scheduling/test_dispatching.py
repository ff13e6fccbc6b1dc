"""The dispatch board's writes (scheduling.services.dispatching): moving appointments between workers and times, booking
the unassigned queue, and the emergency reserve that normal bookings leave free but the dispatcher may spend."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from scheduling import selectors
from scheduling.models import Appointment, Worker
from scheduling.services import (
    SlotUnavailable,
    appointment_book,
    appointment_reassign,
    emergency_reserve_set,
    job_dispatch,
    worker_set_hours,
)
from scheduling.team import dispatch_business
from tests.factories import pro
from tests.helpers import client_for, error_code

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    return future_monday(0) + timedelta(days=day, hours=hour, minutes=minute)  # London is on UTC in winter


@pytest.fixture
def bob() -> User:
    return pro("bobdisp")


@pytest.fixture
def ann(bob: User) -> Worker:
    return worker_all_week(bob, buffer=30)


@pytest.fixture
def sam(bob: User) -> Worker:
    worker = Worker.objects.create(owner=bob, name="Sam", time_zone="Europe/London", travel_buffer_minutes=30)
    worker_set_hours(worker=worker, actor=bob, hours=[(d, time(8), time(18)) for d in range(7)])
    return worker


def browser_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def book(customer: User, bob: User, worker: Worker, start: datetime, minutes: int = 60, title: str = "Leaking tap") -> Appointment:
    job = awarded_job(customer, bob, title=title)
    return appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=minutes, actor=bob)


def test_only_a_tradesperson_runs_a_board(bob: User, customer: User) -> None:
    assert dispatch_business(bob) == bob
    assert dispatch_business(customer) is None


def test_move_to_another_worker_and_time(customer: User, bob: User, ann: Worker, sam: Worker) -> None:
    appointment = book(customer, bob, ann, at(9))
    moved = appointment_reassign(by=bob, appointment=appointment, worker=sam, start=at(14, day=1))
    moved.refresh_from_db()
    assert (moved.worker_id, moved.starts_at, moved.ends_at) == (sam.pk, at(14, day=1), at(15, day=1))
    event = OutboxEvent.objects.filter(event_type="appointment.rescheduled").get()
    assert event.envelope["data"]["previous_worker_id"] == ann.pk
    assert event.envelope["data"]["worker_id"] == sam.pk


def test_a_clash_is_refused_by_the_constraint_with_a_sentence(customer: User, bob: User, ann: Worker, sam: Worker) -> None:
    book(customer, bob, sam, at(10), minutes=120, title="Boiler service")
    appointment = book(customer, bob, ann, at(9))
    with pytest.raises(SlotUnavailable) as refused:
        appointment_reassign(by=bob, appointment=appointment, worker=sam, start=at(11))
    assert refused.value.code == "slot_taken"
    assert refused.value.message == "Sam already has a job 10:00–12:00 then (Boiler service)."
    appointment.refresh_from_db()
    assert appointment.worker_id == ann.pk and appointment.starts_at == at(9)  # nothing moved
    # Only the travel buffer is in the way: the sentence says so.
    with pytest.raises(SlotUnavailable) as tight:
        appointment_reassign(by=bob, appointment=appointment, worker=sam, start=at(12, 15))
    assert "no time to travel" in tight.value.message


def test_another_business_is_refused(customer: User, bob: User, ann: Worker) -> None:
    eve = pro("evedisp")
    eves = worker_all_week(eve)
    appointment = book(customer, bob, ann, at(9))
    with pytest.raises(ServiceError) as wrong_worker:
        appointment_reassign(by=bob, appointment=appointment, worker=eves, start=at(9))
    assert wrong_worker.value.code == "forbidden"
    with pytest.raises(ServiceError) as not_hers:
        appointment_reassign(by=eve, appointment=appointment, worker=eves, start=at(9))
    assert not_hers.value.code == "not_found"
    with pytest.raises(ServiceError) as customer_refused:
        appointment_reassign(by=customer, appointment=appointment, worker=ann, start=at(11))
    assert customer_refused.value.code == "forbidden"


def test_the_queue_and_booking_from_it(customer: User, bob: User, ann: Worker, sam: Worker) -> None:
    job = awarded_job(customer, bob, title="Fence panel")
    assert [j.pk for j in selectors.unassigned_jobs(owner_id=bob.pk)] == [job.pk]
    appointment = job_dispatch(by=bob, job=job, worker=sam, start=at(9), duration_minutes=90)
    assert appointment.worker_id == sam.pk
    assert selectors.unassigned_jobs(owner_id=bob.pk) == []
    job.refresh_from_db()
    assert job.status == Job.Status.SCHEDULED
    # A worker who stops taking appointments leaves theirs in the queue to be reassigned.
    sam.active = False
    sam.save()
    assert [a.pk for a in selectors.stranded_appointments(owner_id=bob.pk)] == [appointment.pk]


def test_the_emergency_reserve_binds_normal_bookings_not_the_dispatcher(customer: User, bob: User, ann: Worker) -> None:
    emergency_reserve_set(by=bob, minutes=8 * 60)  # 10 working hours: 2 h bookable, the rest kept free
    book(customer, bob, ann, at(8), minutes=90)  # 08:00-09:30 + 30 min travel: 2 h used
    job = awarded_job(customer, bob, title="Second job")
    with pytest.raises(SlotUnavailable) as refused:
        appointment_book(job=job, worker=ann, starts_at=at(13), duration_minutes=60, actor=customer)
    assert refused.value.code == "emergency_reserve"
    assert "kept free for emergencies" in refused.value.message
    assert all(s.date() != at(0).date() for s in refused.value.suggestions)  # nothing offered that day
    assert job_dispatch(by=bob, job=job, worker=ann, start=at(13), duration_minutes=60).starts_at == at(13)
    with pytest.raises(ServiceError):
        emergency_reserve_set(by=bob, minutes=13 * 60)


# --- the API and the page ------------------------------------------------------------------------


def test_api_moves_by_day_keeping_the_local_time_and_explains_a_clash(customer: User, bob: User, ann: Worker, sam: Worker) -> None:
    appointment = book(customer, bob, ann, at(9))
    api = client_for(bob)
    moved = api.post(
        f"/api/dispatch/appointments/{appointment.pk}/move/", {"worker": sam.pk, "day": at(0, day=2).date().isoformat()}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["worker"] == sam.pk and moved.json()["starts_at"] == at(9, day=2).isoformat().replace("+00:00", "Z")
    other = book(customer, bob, ann, at(14, day=2), title="Boiler service")
    clash = api.post(
        f"/api/dispatch/appointments/{other.pk}/move/",
        {"worker": sam.pk, "day": at(0, day=2).date().isoformat(), "time": "09:30"},
        format="json",
    )
    assert clash.status_code == 409
    assert clash.json()["error"] == {
        "code": "slot_taken",
        "message": "Sam already has a job 09:00–10:00 then (Leaking tap).",
        "suggestions": clash.json()["error"]["suggestions"],
    }
    # Neither both nor none of start and day.
    assert error_code(api.post(f"/api/dispatch/appointments/{other.pk}/move/", {"worker": sam.pk}, format="json")) == "validation_error"
    # Another business's appointment is not on this board; a customer runs no board.
    assert client_for(pro("evedispapi")).post(
        f"/api/dispatch/appointments/{other.pk}/move/", {"worker": sam.pk, "day": "2030-01-01"}, format="json"
    ).status_code in (403, 404)
    assert (
        client_for(customer)
        .post(f"/api/dispatch/appointments/{other.pk}/move/", {"worker": sam.pk, "day": "2030-01-01"}, format="json")
        .status_code
        == 403
    )


def test_api_books_the_queue_and_lists_it(customer: User, bob: User, ann: Worker, sam: Worker) -> None:
    job = awarded_job(customer, bob, title="Fence panel")
    api = client_for(bob)
    board = api.get("/api/dispatch/", {"from": at(0).date().isoformat()}).json()
    assert [q["job_id"] for q in board["unassigned"]] == [job.pk] and board["emergency_reserve_minutes"] == 0
    booked = api.post(f"/api/dispatch/jobs/{job.pk}/book/", {"worker": sam.pk, "day": at(0).date().isoformat()}, format="json")
    assert booked.status_code == 201, booked.content
    assert booked.json()["starts_at"] == at(8).isoformat().replace("+00:00", "Z")  # Sam's first free start that day
    assert booked.json()["ends_at"] == at(10).isoformat().replace("+00:00", "Z")  # DISPATCH_DEFAULT_JOB_MINUTES
    assert api.get("/api/dispatch/", {"from": at(0).date().isoformat()}).json()["unassigned"] == []
    reserve = api.put("/api/dispatch/reserve/", {"hours": "2.5"}, format="json")
    assert reserve.json() == {"emergency_reserve_minutes": 150}
    assert error_code(api.put("/api/dispatch/reserve/", {"hours": "13"}, format="json")) == "validation_error"


def test_the_page_offers_moves_only_to_whoever_runs_the_board(customer: User, bob: User, ann: Worker, sam: Worker) -> None:
    booked = book(customer, bob, ann, at(9))
    awarded_job(customer, bob, title="Fence panel")
    page = browser_of(bob).get("/dispatch/", {"week": at(0).date().isoformat()}).content.decode()
    assert 'data-testid="queue-item"' in page and "Fence panel" in page
    assert 'draggable="true"' in page and 'data-testid="move-button"' in page and "dispatch-board.js" in page
    assert "{#" not in page and "{%" not in page  # no template comment or tag leaks into the page
    # A technician of the business has no board; a dispatcher runs it as the owner does.
    helper = User.objects.create_user("sam_login", password="pw-123456-x", role=User.Role.TEAM)
    Worker.objects.filter(pk=sam.pk).update(user=helper, role=Worker.Role.TECHNICIAN)
    assert browser_of(helper).get("/dispatch/", {"week": at(0).date().isoformat()}).status_code == 403
    Worker.objects.filter(pk=sam.pk).update(role=Worker.Role.DISPATCHER)
    seen = browser_of(helper).get("/dispatch/", {"week": at(0).date().isoformat()}).content.decode()
    assert "Leaking tap" in seen and 'data-testid="move-button"' in seen and "dispatch-board.js" in seen
    # ...and moves appointments of the business through the same API (acting for it, not as a party to the job).
    moved = client_for(helper).post(
        f"/api/dispatch/appointments/{booked.pk}/move/", {"worker": sam.pk, "start": at(11).isoformat()}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert Appointment.objects.get(pk=booked.pk).worker_id == sam.pk
