"""Scheduling pages: who may see the calendar and dispatch board, what they show (in the owner's zone), the live fragment,
and the appointment section on the job and lead pages."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client

from jobs.models import Job
from marketplace.accounts.models import User
from scheduling import services
from scheduling.models import Appointment, Worker, WorkingHours
from tests.factories import pro
from tests.scheduling.helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob() -> User:
    user = pro("bobcal", business_name="Bob's Boilers")
    user.time_zone = "Europe/Paris"
    user.save(update_fields=["time_zone"])
    return user


@pytest.fixture
def worker(bob: User) -> Worker:
    return worker_all_week(bob, zone="Europe/Paris", buffer=30)


@pytest.fixture
def job(customer: User, bob: User) -> Job:
    return awarded_job(customer, bob, title="Replace kitchen tap", place="Highbury N5")


@pytest.fixture
def booked(job: Job, worker: Worker, customer: User) -> Appointment:
    # 09:00 UTC on a January Monday is 10:00 in Paris.
    return services.appointment_book(job=job, worker=worker, starts_at=future_monday(9), duration_minutes=90, actor=customer)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def week_of(appointment: Appointment) -> str:
    return appointment.starts_at.date().isoformat()


# --- who may see them -----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/calendar/", "/dispatch/"])
def test_anonymous_people_are_sent_to_log_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", ["/calendar/", "/dispatch/", "/calendar/?fragment=1", "/dispatch/?fragment=1"])
def test_customers_are_refused(customer: User, url: str) -> None:
    assert logged_in(customer).get(url).status_code == 403


def test_a_new_business_gets_its_owner_as_a_worker_and_an_empty_week(bob: User) -> None:
    response = logged_in(bob).get("/calendar/")
    assert response.status_code == 200
    assert Worker.objects.filter(owner=bob, user=bob).count() == 1
    html = response.content.decode()
    assert 'data-testid="calendar-appointment"' not in html
    assert "10 h free" in html  # the default Monday-Friday 08:00-18:00
    assert 'href="/calendar/"' in html and 'href="/dispatch/"' in html  # the nav links


# --- the calendar -----------------------------------------------------------------------------


def test_the_calendar_shows_the_appointment_in_the_owners_zone(bob: User, booked: Appointment) -> None:
    response = logged_in(bob).get("/calendar/", {"week": week_of(booked)})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="calendar-appointment"') == 1
    assert "10:00–11:30" in html  # Paris, not UTC
    assert "Replace kitchen tap" in html and "Highbury N5" in html
    assert "times in Europe/Paris" in html
    assert f'href="/leads/{booked.job_id}/"' in html
    # 10 h of working time on Monday minus 90 min and the 30 min travel buffer
    assert "8 h free" in html
    assert response.context["live"]["stream"] == f"calendar.{bob.pk}"


def test_week_links_and_another_week_without_the_appointment(bob: User, booked: Appointment) -> None:
    monday = booked.starts_at.date()
    response = logged_in(bob).get("/calendar/", {"week": (monday + timedelta(days=3)).isoformat()})  # any day of the week
    assert response.context["board"].week_start == monday
    assert response.context["prev_url"] == f"/calendar/?week={(monday - timedelta(days=7)).isoformat()}"
    assert response.context["next_url"] == f"/calendar/?week={(monday + timedelta(days=7)).isoformat()}"
    later = logged_in(bob).get(response.context["next_url"]).content.decode()
    assert 'data-testid="calendar-appointment"' not in later
    nonsense = logged_in(bob).get("/calendar/", {"week": "not-a-date"})
    assert nonsense.status_code == 200  # this week instead


def test_the_fragment_is_just_the_grid_and_follows_the_query(bob: User, booked: Appointment) -> None:
    response = logged_in(bob).get("/calendar/", {"week": week_of(booked), "fragment": "1"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<nav" not in html
    assert 'data-testid="calendar-appointment"' in html and "10:00–11:30" in html
    page = logged_in(bob).get("/calendar/", {"week": week_of(booked)})
    assert page.context["live"]["fragment_url"] == f"/calendar/?week={week_of(booked)}&fragment=1"


def test_the_calendar_marks_confirmed_and_flagged_appointments(bob: User, booked: Appointment) -> None:
    Appointment.objects.filter(pk=booked.pk).update(confirmed_at=booked.starts_at - timedelta(days=1))
    html = logged_in(bob).get("/calendar/", {"week": week_of(booked)}).content.decode()
    assert 'data-testid="confirmed-tick"' in html
    Appointment.objects.filter(pk=booked.pk).update(conflict_reason="Starts before Build the wall ends (Mon 12:00).")
    html = logged_in(bob).get("/calendar/", {"week": week_of(booked)}).content.decode()
    assert "cal-appt conflict" in html and "Starts before Build the wall ends" in html


def test_the_calendar_lists_conflicts_and_puts_simultaneous_appointments_side_by_side(
    customer: User, bob: User, booked: Appointment
) -> None:
    Appointment.objects.filter(pk=booked.pk).update(conflict_reason="Starts before Build the wall ends.")
    helper = Worker.objects.create(owner=bob, name="Harry Helper", time_zone="Europe/Paris")
    WorkingHours.objects.bulk_create([WorkingHours(worker=helper, weekday=d, start=time(8), end=time(18)) for d in range(7)])
    second = awarded_job(customer, bob, title="Fit a radiator")
    services.appointment_book(job=second, worker=helper, starts_at=booked.starts_at, duration_minutes=90, actor=bob)
    response = logged_in(bob).get("/calendar/", {"week": week_of(booked)})
    html = response.content.decode()
    assert 'data-testid="calendar-conflicts"' in html and "Starts before Build the wall ends." in html
    blocks = [b for c in response.context["columns"] for b in c.blocks]
    assert sorted((b.lane, b.lanes) for b in blocks) == [(0, 2), (1, 2)]
    assert "width:50.000%" in html and "Harry Helper" in html


def test_the_worker_filter_only_takes_the_businesss_own_workers(bob: User, booked: Appointment) -> None:
    helper = Worker.objects.create(owner=bob, name="Harry Helper", time_zone="Europe/Paris")
    WorkingHours.objects.create(worker=helper, weekday=0, start=booked.starts_at.time(), end=booked.ends_at.time())
    other = worker_all_week(pro("someoneelse"))
    client = logged_in(bob)
    only_helper = client.get("/calendar/", {"week": week_of(booked), "worker": str(helper.pk)})
    assert [w.pk for w in only_helper.context["board"].workers] == [helper.pk]
    assert 'data-testid="calendar-appointment"' not in only_helper.content.decode()
    foreign = client.get("/calendar/", {"week": week_of(booked), "worker": str(other.pk)})
    assert foreign.status_code == 200 and foreign.context["worker_id"] is None  # ignored, not someone else's board
    assert other.pk not in [w.pk for w in foreign.context["board"].workers]


def test_a_dispatcher_sees_the_owners_business_and_a_technician_does_not(bob: User, booked: Appointment) -> None:
    harry = User.objects.create_user("harry", password="pw-123456-x", role=User.Role.TEAM)
    Worker.objects.create(owner=bob, user=harry, name="Harry", time_zone="Europe/Paris", role=Worker.Role.DISPATCHER)
    for url in ("/calendar/", "/dispatch/"):
        response = logged_in(harry).get(url, {"week": week_of(booked)})
        assert response.status_code == 200 and response.context["owner"] == bob
        assert "Replace kitchen tap" in response.content.decode()
    assert not Worker.objects.filter(owner=harry).exists()
    Worker.objects.filter(user=harry).update(role=Worker.Role.TECHNICIAN)
    assert logged_in(harry).get("/calendar/").status_code == 403
    assert logged_in(harry).get("/dispatch/").status_code == 403


# --- the dispatch board -------------------------------------------------------------------------


def test_the_dispatch_board_lists_workers_by_day_with_capacity(bob: User, booked: Appointment) -> None:
    response = logged_in(bob).get("/dispatch/", {"week": week_of(booked)})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="dispatch-cell"') == 7
    assert html.count('data-testid="dispatch-appointment"') == 1
    assert "10:00–11:30" in html and "Replace kitchen tap" in html
    assert "8 h free" in html and "10 h free" in html  # Monday, and every other day (all week 08:00-18:00)
    assert '<span data-testid="conflict-count">0</span>' in html
    fragment = logged_in(bob).get("/dispatch/", {"week": week_of(booked), "fragment": "1"}).content.decode()
    assert "<html" not in fragment and 'data-testid="dispatch-appointment"' in fragment


def test_the_dispatch_board_counts_conflicts(bob: User, booked: Appointment) -> None:
    Appointment.objects.filter(pk=booked.pk).update(conflict_reason="Starts before Build the wall ends.")
    html = logged_in(bob).get("/dispatch/", {"week": week_of(booked)}).content.decode()
    assert '<span data-testid="conflict-count">1</span>' in html
    assert 'data-testid="dispatch-flag"' in html and "Starts before Build the wall ends." in html


# --- the appointment section on job pages -------------------------------------------------------


def test_the_customers_job_page_has_the_booking_section(customer: User, job: Job) -> None:
    html = logged_in(customer).get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="appointment"' in html and 'data-mode="customer"' in html
    assert f'data-stream="job.{job.pk}"' in html
    assert f'data-slots-url="/api/jobs/{job.pk}/slots/"' in html
    assert 'data-business="Bob&#x27;s Boilers"' in html
    assert "js/booking.js" in html


def test_the_booking_section_is_hidden_before_the_award(customer: User, bob: User) -> None:
    from tests.factories import post_job

    open_job = post_job(customer)
    html = logged_in(customer).get(f"/jobs/{open_job.pk}/").content.decode()
    section = html[html.index('id="appointment"') :]
    assert section[: section.index(">")].rstrip().endswith("hidden")


def test_the_winners_lead_page_has_the_tradesperson_section(bob: User, job: Job) -> None:
    html = logged_in(bob).get(f"/leads/{job.pk}/").content.decode()
    assert 'data-mode="tradesperson"' in html and f'data-stream="user.{bob.pk}"' in html
    assert 'data-workers-url="/api/workers/"' in html and "js/booking.js" in html


def test_a_losing_bidders_lead_page_has_no_booking_section(customer: User, bob: User) -> None:
    from tests.factories import offer

    carol = pro("carolcal")
    job = awarded_job(customer, bob)
    offer(job, carol)
    html = logged_in(carol).get(f"/leads/{job.pk}/").content.decode()
    assert 'id="appointment"' not in html and "js/booking.js" not in html
