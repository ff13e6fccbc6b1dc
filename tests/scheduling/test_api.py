"""The scheduling API over the real services and Postgres: slots, booking, rescheduling, workers, calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs.models import Job
from marketplace.accounts.models import User
from scheduling.models import Appointment, TimeOff, WorkingHours
from tests.factories import offer, post_job, pro
from tests.helpers import client_for, error_code
from tests.quotes.helpers import accept, submit

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def bob() -> User:
    return pro("bobapi")


@pytest.fixture
def worker(bob: User) -> Any:
    return worker_all_week(bob)


@pytest.fixture
def job(customer: User, bob: User) -> Job:
    return awarded_job(customer, bob)


def book(user: User, job: Job, worker: Any, start: datetime, minutes: int = 60) -> Any:
    body = {"worker": worker.pk, "starts_at": iso(start), "duration_minutes": minutes}
    return client_for(user).post(f"/api/jobs/{job.pk}/appointment/", body, format="json")


# --- slots ------------------------------------------------------------------------------------


def test_slots_are_utc_with_the_viewers_local_rendering(customer: User, job: Job, worker: Any) -> None:
    customer.time_zone = "Europe/Paris"
    customer.save(update_fields=["time_zone"])
    monday = future_monday(0)
    response = client_for(customer).get(f"/api/jobs/{job.pk}/slots/", {"duration": "60", "from": iso(monday), "days": "1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["time_zone"] == "Europe/Paris" and body["duration_minutes"] == 60
    first = body["slots"][0]
    assert first["starts_at"] == iso(monday + timedelta(hours=8)) and first["ends_at"] == iso(monday + timedelta(hours=9))
    assert first["starts_at_local"].endswith("T09:00:00+01:00") and first["starts_label"].endswith("09:00")
    assert first["worker"] == worker.pk
    # 08:00 to 17:00 London (= UTC in winter) on the half hour: 19 starts for an hour's job.
    assert len(body["slots"]) == 19


def test_slots_leave_out_a_booked_appointment_and_its_travel_time(customer: User, bob: User, job: Job, worker: Any) -> None:
    other = awarded_job(customer, bob, title="Second job")
    assert book(customer, other, worker, future_monday(10)).status_code == 201
    monday = future_monday(0)
    response = client_for(bob).get(f"/api/jobs/{job.pk}/slots/", {"duration": "60", "from": iso(monday), "days": "1"})
    starts = [slot["starts_at"] for slot in response.json()["slots"]]
    # Booked 10:00-11:00 plus 30 minutes of travel; a new hour's job needs its own 30 minutes after it too.
    assert iso(monday.replace(hour=8, minute=30)) in starts and iso(monday.replace(hour=9)) not in starts
    assert iso(monday.replace(hour=10)) not in starts and iso(monday.replace(hour=11, minute=30)) in starts


def test_bad_slot_parameters_are_400(customer: User, job: Job, worker: Any) -> None:
    client = client_for(customer)
    path = f"/api/jobs/{job.pk}/slots/"
    naive = client.get(path, {"from": "2030-01-07T10:00:00"})
    assert naive.status_code == 400 and error_code(naive) == "naive_time" and "from" in naive.json()["error"]["fields"]
    for params in ({"days": 0}, {"days": 99}, {"duration": "abc"}, {"duration": 0}, {"from": "not a time"}):
        response = client.get(path, params)
        assert response.status_code == 400 and error_code(response) == "validation_error", params
    unknown = client.get(path, {"worker": 999999})
    assert unknown.status_code == 400 and "worker" in unknown.json()["error"]["fields"]


def test_an_offset_sent_unencoded_in_the_query_string_is_read(customer: User, job: Job, worker: Any) -> None:
    # "+01:00" not percent-encoded arrives as " 01:00".
    response = client_for(customer).get(f"/api/jobs/{job.pk}/slots/?from=2030-01-07T10:00:00+01:00&days=1")
    assert response.status_code == 200, response.content
    assert response.json()["window_start"] == "2030-01-07T09:00:00Z"


def test_slots_before_the_award_are_409(customer: User, worker: Any) -> None:
    open_job = post_job(customer)
    response = client_for(customer).get(f"/api/jobs/{open_job.pk}/slots/")
    assert response.status_code == 409 and error_code(response) == "job_not_awarded"


def test_slots_are_for_the_two_parties_only(customer: User, other_customer: User, worker: Any) -> None:
    winner, loser = pro("winner"), pro("loser")
    job = post_job(customer)
    offer(job, winner), offer(job, loser)
    version = submit(job, winner)
    submit(job, loser)
    accept(version, customer)
    path = f"/api/jobs/{job.pk}/slots/"
    assert client_for(winner).get(path).status_code == 200
    refused = client_for(loser).get(path)
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    assert client_for(other_customer).get(path).status_code == 404
    anonymous = client_for(None).get(path)
    assert anonymous.status_code == 403 and error_code(anonymous) == "not_authenticated"


# --- booking, rescheduling, cancelling --------------------------------------------------------


def test_customer_books_sees_reschedules_and_cancels(customer: User, bob: User, job: Job, worker: Any) -> None:
    start = future_monday(10)
    response = book(customer, job, worker, start, minutes=90)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["starts_at"] == iso(start) and body["ends_at"] == iso(start + timedelta(minutes=90))
    assert body["worker"] == worker.pk and body["job_title"] == job.title and body["status"] == "booked"
    assert body["travel_buffer_minutes"] == 30 and body["time_zone"] == customer.time_zone
    job.refresh_from_db()
    assert job.status == Job.Status.SCHEDULED

    path = f"/api/jobs/{job.pk}/appointment/"
    assert client_for(bob).get(path).json()["id"] == body["id"]

    later = future_monday(14, weeks=3)
    moved = client_for(bob).patch(path, {"starts_at": iso(later)}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["starts_at"] == iso(later) and moved.json()["ends_at"] == iso(later + timedelta(minutes=90))
    shorter = client_for(customer).patch(path, {"starts_at": iso(later), "duration_minutes": 30}, format="json")
    assert shorter.json()["ends_at"] == iso(later + timedelta(minutes=30))

    cancelled = client_for(customer).post(f"{path}cancel/", {"reason": "away that week"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    job.refresh_from_db()
    assert job.status == Job.Status.AWARDED
    gone = client_for(customer).get(path)
    assert gone.status_code == 404 and error_code(gone) == "not_found"
    again = client_for(customer).post(f"{path}cancel/", {}, format="json")
    assert again.status_code == 404


def test_a_taken_slot_is_409_with_the_next_free_starts(customer: User, bob: User, job: Job, worker: Any) -> None:
    other = awarded_job(customer, bob, title="Second job")
    assert book(bob, other, worker, future_monday(10)).status_code == 201
    before = Appointment.objects.count()
    response = book(customer, job, worker, future_monday(10) + timedelta(minutes=30))
    assert response.status_code == 409 and error_code(response) == "slot_taken"
    suggestions = response.json()["error"]["suggestions"]
    assert len(suggestions) == 3
    starts = [datetime.fromisoformat(s) for s in suggestions]
    assert all(s.tzinfo is not None for s in starts) and starts == sorted(starts)
    # The taken hour and its travel time are not offered back.
    assert starts[0] >= future_monday(10) + timedelta(minutes=90)
    assert Appointment.objects.count() == before
    # The first suggestion can be booked as is.
    assert book(customer, job, worker, starts[0]).status_code == 201


def test_bad_times_are_refused_and_nothing_is_written(customer: User, job: Job, worker: Any) -> None:
    client = client_for(customer)
    path = f"/api/jobs/{job.pk}/appointment/"
    past = book(customer, job, worker, timezone.now() - timedelta(days=1))
    assert past.status_code == 400 and error_code(past) == "in_the_past"
    naive = client.post(path, {"worker": worker.pk, "starts_at": "2030-01-07T10:00:00", "duration_minutes": 60}, format="json")
    assert naive.status_code == 400 and error_code(naive) == "naive_time"
    assert list(naive.json()["error"]["fields"]) == ["starts_at"]
    outside = book(customer, job, worker, future_monday(20))
    assert outside.status_code == 409 and error_code(outside) == "outside_working_hours"
    assert outside.json()["error"]["suggestions"], "a refused time offers the next free ones"
    too_long = book(customer, job, worker, future_monday(10), minutes=24 * 60 + 1)
    assert too_long.status_code == 400 and error_code(too_long) == "validation_error"
    missing = client.post(path, {"starts_at": iso(future_monday(10))}, format="json")
    assert missing.status_code == 400 and set(missing.json()["error"]["fields"]) == {"worker", "duration_minutes"}
    unknown = client.post(path, {"worker": 999999, "starts_at": iso(future_monday(10)), "duration_minutes": 60}, format="json")
    assert unknown.status_code == 400 and "worker" in unknown.json()["error"]["fields"]
    stranger = worker_all_week(pro("stranger"))
    wrong = book(customer, job, stranger, future_monday(10))
    assert wrong.status_code == 400 and error_code(wrong) == "wrong_worker"
    assert Appointment.objects.count() == 0
    job.refresh_from_db()
    assert job.status == Job.Status.AWARDED


def test_booking_someone_elses_job(customer: User, other_customer: User, job: Job, worker: Any) -> None:
    stranger = pro("nosy")
    assert book(other_customer, job, worker, future_monday(10)).status_code == 404
    assert book(stranger, job, worker, future_monday(10)).status_code == 404
    assert book(None, job, worker, future_monday(10)).status_code == 403  # type: ignore[arg-type]
    assert Appointment.objects.count() == 0


def test_a_booked_job_cannot_be_booked_twice_and_patch_needs_a_booking(customer: User, job: Job, worker: Any) -> None:
    path = f"/api/jobs/{job.pk}/appointment/"
    none_yet = client_for(customer).patch(path, {"starts_at": iso(future_monday(10))}, format="json")
    assert none_yet.status_code == 404
    assert book(customer, job, worker, future_monday(10)).status_code == 201
    twice = book(customer, job, worker, future_monday(14))
    assert twice.status_code == 409 and error_code(twice) == "already_scheduled"
    naive = client_for(customer).patch(path, {"starts_at": "2030-01-07T10:00:00"}, format="json")
    assert naive.status_code == 400 and error_code(naive) == "naive_time"


# --- workers and the calendar -----------------------------------------------------------------


def test_a_tradesperson_lists_their_workers_and_replaces_hours(bob: User, customer: User) -> None:
    listed = client_for(bob).get("/api/workers/")
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["is_owner"] and row["travel_buffer_minutes"] == 30 and len(row["hours"]) == 5
    assert row["hours"][0] == {"weekday": 0, "start": "08:00", "end": "18:00"}

    path = f"/api/workers/{row['id']}/hours/"
    hours = [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "13:00", "end": "17:30"}]
    response = client_for(bob).put(path, {"hours": hours}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["hours"] == hours
    backwards = client_for(bob).put(path, {"hours": [{"weekday": 1, "start": "17:00", "end": "09:00"}]}, format="json")
    assert backwards.status_code == 400 and error_code(backwards) == "ends_before_start"
    bad_day = client_for(bob).put(path, {"hours": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, format="json")
    assert bad_day.status_code == 400 and error_code(bad_day) == "validation_error"
    assert WorkingHours.objects.filter(worker_id=row["id"]).count() == 2

    assert client_for(customer).get("/api/workers/").status_code == 403
    assert client_for(pro("rival")).put(path, {"hours": hours}, format="json").status_code == 404


def test_time_off_blocks_slots(customer: User, bob: User, job: Job, worker: Any) -> None:
    monday = future_monday(0)
    path = f"/api/workers/{worker.pk}/time-off/"
    body = {"starts_at": iso(monday.replace(hour=8)), "ends_at": iso(monday.replace(hour=12)), "reason": "dentist"}
    response = client_for(bob).post(path, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["reason"] == "dentist" and response.json()["starts_at"] == iso(monday.replace(hour=8))
    slots = client_for(customer).get(f"/api/jobs/{job.pk}/slots/", {"from": iso(monday), "days": "1"}).json()["slots"]
    assert slots[0]["starts_at"] == iso(monday.replace(hour=12))
    assert client_for(bob).get("/api/workers/").json()[0]["time_off"][0]["reason"] == "dentist"

    backwards = client_for(bob).post(path, {**body, "ends_at": iso(monday.replace(hour=7))}, format="json")
    assert backwards.status_code == 400 and error_code(backwards) == "ends_before_start"
    naive = client_for(bob).post(path, {**body, "ends_at": "2030-01-07T10:00:00"}, format="json")
    assert naive.status_code == 400 and error_code(naive) == "naive_time"
    assert client_for(pro("rival2")).post(path, body, format="json").status_code == 404
    assert TimeOff.objects.count() == 1


def test_the_calendar_shows_booked_appointments_in_range(customer: User, bob: User, job: Job, worker: Any) -> None:
    assert book(customer, job, worker, future_monday(10)).status_code == 201
    week = {"from": iso(future_monday(0)), "to": iso(future_monday(0) + timedelta(days=7))}
    [entry] = client_for(bob).get("/api/calendar/", week).json()["appointments"]
    assert entry["job"] == job.pk and entry["job_title"] == job.title and entry["job_place"] == job.place
    assert entry["starts_at"] == iso(future_monday(10))
    later = {"from": iso(future_monday(0, weeks=3)), "to": iso(future_monday(0, weeks=4))}
    assert client_for(bob).get("/api/calendar/", later).json()["appointments"] == []
    assert client_for(pro("rival3")).get("/api/calendar/", week).json()["appointments"] == []
    staff = User.objects.create_user("staffer", password="pw-123456-x", is_staff=True)
    assert len(client_for(staff).get("/api/calendar/", week).json()["appointments"]) == 1
    assert client_for(customer).get("/api/calendar/").status_code == 403

    backwards = client_for(bob).get("/api/calendar/", {"from": week["to"], "to": week["from"]})
    assert backwards.status_code == 400 and "to" in backwards.json()["error"]["fields"]
    too_long = client_for(bob).get("/api/calendar/", {"from": week["from"], "to": iso(future_monday(0, weeks=20))})
    assert too_long.status_code == 400
    naive = client_for(bob).get("/api/calendar/", {"from": "2030-01-07T10:00:00"})
    assert naive.status_code == 400 and error_code(naive) == "naive_time"


def test_slots_start_in_the_customer_s_preferred_window_and_stay_inside_it(customer: User) -> None:
    """The issue's case: posted on Monday 7 Dec for Tue 8 08:00 - Mon 14 14:00; the first slots offered were that Monday."""
    import time_machine

    monday = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    window = (datetime(2026, 12, 8, 8, 0, tzinfo=UTC), datetime(2026, 12, 14, 14, 0, tzinfo=UTC))
    with time_machine.travel(monday, tick=False):
        bob = pro("bobwindow")
        worker_all_week(bob)  # 08:00-18:00 London (UTC in December), every day
        job = awarded_job(customer, bob, window_start=window[0], window_end=window[1])
        body = client_for(customer).get(f"/api/jobs/{job.pk}/slots/", {"duration": 120, "days": 14}).json()
        starts = [datetime.fromisoformat(s["starts_at"].replace("Z", "+00:00")) for s in body["slots"]]
        assert starts and starts[0] == window[0]
        assert all(start + timedelta(minutes=120) <= window[1] for start in starts)
        assert body["outside_preferred_window"] is False and body["note"] == ""
        assert body["window_end"] == "2026-12-14T14:00:00Z"  # "Later" pages on from there

        # A visit longer than any day in the window: the days after it, saying so.
        Job.objects.filter(pk=job.pk).update(window_end=datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
        body = client_for(customer).get(f"/api/jobs/{job.pk}/slots/", {"duration": 120}).json()
        assert body["slots"] and body["outside_preferred_window"] is True
        assert body["note"].startswith("No free time fits the customer's preferred window (until Tue 08 Dec 09:00)")
