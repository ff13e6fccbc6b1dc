"""The availability page and its services: weekly hours, time off, travel time, service area and the
per-worker calendar feed; their effect on offered slots and on matching; who may manage which worker."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from icalendar import Calendar

from jobs.models import TradespersonProfile
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from matching.projections import find_candidates
from scheduling import selectors, services
from scheduling.models import TimeOff, Worker, WorkingHours
from tests.factories import post_job, pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob() -> User:
    user = pro("bobavail", business_name="Bob's Boilers")
    user.time_zone = "Europe/London"
    user.save(update_fields=["time_zone"])
    return user


@pytest.fixture
def worker(bob: User) -> Worker:
    return worker_all_week(bob)


@pytest.fixture
def owner_client(bob: User) -> Client:
    client = Client()
    client.force_login(bob)
    return client


def page(worker: Worker) -> str:
    return f"/availability/{worker.pk}/"


def availability_events(worker: Worker) -> list[str]:
    rows = OutboxEvent.objects.filter(event_type="worker.availability_changed", key=str(worker.pk)).order_by("sequence", "id")
    return list(rows.values_list("envelope__data__change", flat=True))


# --- services ------------------------------------------------------------------------------------


def test_overlapping_or_backwards_hours_are_refused_with_a_sentence(bob: User, worker: Worker) -> None:
    with pytest.raises(ServiceError, match=r"Monday: 08:00–12:00 and 11:00–14:00 overlap") as overlap:
        services.worker_set_hours(worker=worker, actor=bob, hours=[(0, time(8), time(12)), (0, time(11), time(14))])
    assert overlap.value.code == "hours_overlap"
    with pytest.raises(ServiceError, match="Tuesday 17:00–09:00: working hours must end after they start"):
        services.worker_set_hours(worker=worker, actor=bob, hours=[(1, time(17), time(9))])
    # Touching stretches are fine, and several per day are kept.
    services.worker_set_hours(worker=worker, actor=bob, hours=[(0, time(8), time(12)), (0, time(12), time(17))])
    assert WorkingHours.objects.filter(worker=worker).count() == 2


def test_removing_time_off_and_changing_travel_time_emit_availability_events(bob: User, worker: Worker) -> None:
    start = future_monday(10)
    off = services.time_off_add(worker=worker, actor=bob, starts_at=start, ends_at=start + timedelta(hours=2))
    services.time_off_remove(worker=worker, actor=bob, time_off_id=off.pk)
    services.worker_set_travel_buffer(worker=worker, actor=bob, minutes=45)
    assert not TimeOff.objects.filter(pk=off.pk).exists()
    worker.refresh_from_db()
    assert worker.travel_buffer_minutes == 45
    assert availability_events(worker)[-3:] == ["time_off", "time_off", "worker"]
    with pytest.raises(ServiceError, match="0 to 240 minutes"):
        services.worker_set_travel_buffer(worker=worker, actor=bob, minutes=241)


def test_another_business_may_not_manage_the_worker(bob: User, worker: Worker) -> None:
    other = pro("otheravail")
    assert worker not in selectors.workers_managed_by(other)
    with pytest.raises(ServiceError) as refused:
        services.time_off_add(worker=worker, actor=other, starts_at=future_monday(10), ends_at=future_monday(12))
    assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError):
        services.calendar_feed_rotate(worker=worker, actor=other)


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_hours_in_the_editor_and_saves_several_stretches(owner_client: Client, worker: Worker) -> None:
    response = owner_client.get(page(worker))
    assert response.status_code == 200
    assert 'value="08:00-18:00"' in response.content.decode()
    data = {"action": "hours", "day_0": "08:00-12:00, 13:00-17:30", "day_1": "9.00-17.00"}
    response = owner_client.post(page(worker), data)
    assert response.status_code == 302
    hours = [(h.weekday, h.start, h.end) for h in WorkingHours.objects.filter(worker=worker).order_by("weekday", "start")]
    assert hours == [(0, time(8), time(12)), (0, time(13), time(17, 30)), (1, time(9), time(17))]


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("12:00-08:00", "Monday 12:00–08:00: working hours must end after they start."),
        ("08:00-12:00, 11:00-13:00", "Monday: 08:00–12:00 and 11:00–13:00 overlap."),
        ("eight till five", "“eight till five” is not a time range. Write it like 08:00-12:00."),
    ],
)
def test_the_hours_editor_says_what_is_wrong_and_changes_nothing(owner_client: Client, worker: Worker, typed: str, sentence: str) -> None:
    response = owner_client.post(page(worker), {"action": "hours", "day_0": typed, "day_2": "09:00-17:00"})
    assert response.status_code == 200
    assert sentence in response.content.decode()
    assert WorkingHours.objects.filter(worker=worker).count() == 7  # still the week worker_all_week set


def test_time_off_is_typed_in_the_viewers_zone_and_removes_offered_slots(owner_client: Client, bob: User, worker: Worker) -> None:
    bob.time_zone = "America/New_York"
    bob.save(update_fields=["time_zone"])
    monday = future_monday(10)  # a winter Monday, 10:00 UTC = 05:00 in New York
    before = selectors.next_free_slots(worker=worker, duration=timedelta(hours=1), after=monday, count=1)
    assert before == [monday]
    # 04:00-09:00 New York time (EST, UTC-5) is 09:00-14:00 UTC.
    day = monday.astimezone(ZoneInfo("America/New_York")).date().isoformat()
    response = owner_client.post(
        page(worker), {"action": "time_off_add", "starts_at": f"{day}T04:00", "ends_at": f"{day}T09:00", "reason": "Dentist"}
    )
    assert response.status_code == 302
    off = TimeOff.objects.get(worker=worker)
    assert (off.starts_at, off.ends_at) == (monday - timedelta(hours=1), monday + timedelta(hours=4))
    after = selectors.next_free_slots(worker=worker, duration=timedelta(hours=1), after=monday, count=1)
    assert after == [monday + timedelta(hours=4)]
    shown = owner_client.get(page(worker)).content.decode()
    assert "04:00" in shown and "Dentist" in shown
    # Removing it offers the time again.
    owner_client.post(page(worker), {"action": "time_off_remove", "time_off": off.pk})
    assert selectors.next_free_slots(worker=worker, duration=timedelta(hours=1), after=monday, count=1) == [monday]


def test_time_off_that_ends_before_it_starts_is_refused(owner_client: Client, worker: Worker) -> None:
    response = owner_client.post(page(worker), {"action": "time_off_add", "starts_at": "2031-01-06T12:00", "ends_at": "2031-01-06T09:00"})
    assert "Time off must end after it starts." in response.content.decode()
    assert not TimeOff.objects.filter(worker=worker).exists()


def test_a_smaller_service_area_stops_matching_jobs_outside_it(owner_client: Client, bob: User, worker: Worker, customer: User) -> None:
    job = post_job(customer)  # Westminster, about 4 km from Bob's base in Islington
    assert bob.pk in {c.profile.user_id for c in find_candidates(job, 1.0)}
    response = owner_client.post(page(worker), {"action": "area", "place": "N1", "service_radius_km": "2"})
    assert response.status_code == 302
    profile = TradespersonProfile.objects.get(user=bob)
    assert (profile.base_place, profile.service_radius_km) == ("Islington N1", 2)
    assert bob.pk not in {c.profile.user_id for c in find_candidates(job, 1.0)}


def test_another_business_gets_404_and_a_customer_403(bob: User, worker: Worker, customer: User) -> None:
    other = Client()
    other.force_login(pro("nosyavail"))
    assert other.get(page(worker)).status_code == 404
    assert other.post(page(worker), {"action": "feed_rotate"}).status_code == 404
    assert other.post(f"/api/workers/{worker.pk}/calendar-feed/").status_code == 404
    assert not Worker.objects.get(pk=worker.pk).calendar_feed_hash
    shopper = Client()
    shopper.force_login(customer)
    assert shopper.get(page(worker)).status_code == 403


def test_the_list_page_goes_straight_to_the_only_worker_or_lists_them_all(owner_client: Client, bob: User, worker: Worker) -> None:
    response = owner_client.get("/availability/")
    assert response.status_code == 302 and response["Location"] == page(worker)
    sam = Worker.objects.create(owner=bob, name="Sam Spanner")
    response = owner_client.get("/availability/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{page(worker)}"' in html and f'href="{page(sam)}"' in html and "no working hours set" in html


def test_the_hours_api_refuses_overlaps_in_the_error_shape(owner_client: Client, worker: Worker) -> None:
    hours = [{"weekday": 0, "start": "08:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "13:00"}]
    response = owner_client.put(f"/api/workers/{worker.pk}/hours/", {"hours": hours}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "hours_overlap"


# --- the calendar feed ---------------------------------------------------------------------------


def test_the_feed_lists_appointments_without_contact_details_and_revoking_it_is_404(
    owner_client: Client, bob: User, worker: Worker, customer: User
) -> None:
    job = awarded_job(customer, bob, place="Highbury N5")
    start = future_monday(10)
    appointment = services.appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=90, actor=customer)
    owner_client.post(page(worker), {"action": "feed_rotate"})
    shown = owner_client.get(page(worker)).content.decode()
    url = _feed_url(shown)
    assert "/calendar/feed/" in url
    assert _feed_url(owner_client.get(page(worker)).content.decode()) == ""  # shown once only

    anonymous = Client()
    response = anonymous.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    body = response.content.decode()
    assert customer.email not in body and customer.username not in body
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["uid"]) == f"appointment-{appointment.pk}@tradelink"
    assert str(event["summary"]) == f"{job.trade.name} job, N5"
    assert event.decoded("dtstart") == start
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in body  # in UTC
    assert event.decoded("dtend") == start + timedelta(minutes=90)
    assert "dtstamp" in event and str(event["status"]) == "CONFIRMED"

    services.appointment_cancel(appointment=appointment, actor=customer)
    cancelled = Calendar.from_ical(anonymous.get(url).content).walk("VEVENT")
    assert [str(e["status"]) for e in cancelled] == ["CANCELLED"]

    owner_client.post(page(worker), {"action": "feed_rotate"})
    assert anonymous.get(url).status_code == 404  # the old link stopped working
    new_url = _feed_url(owner_client.get(page(worker)).content.decode())
    assert anonymous.get(new_url).status_code == 200
    owner_client.post(page(worker), {"action": "feed_revoke"})
    assert anonymous.get(new_url).status_code == 404
    assert anonymous.get("/calendar/feed/not-a-secret.ics").status_code == 404


def test_the_api_makes_a_feed_url_and_removes_time_off(owner_client: Client, bob: User, worker: Worker) -> None:
    response = owner_client.post(f"/api/workers/{worker.pk}/calendar-feed/")
    assert response.status_code == 201
    assert Client().get(response.json()["url"]).status_code == 200
    off = services.time_off_add(worker=worker, actor=bob, starts_at=future_monday(10), ends_at=future_monday(12))
    assert owner_client.delete(f"/api/workers/{worker.pk}/time-off/{off.pk}/").status_code == 204
    assert owner_client.delete(f"/api/workers/{worker.pk}/time-off/{off.pk}/").status_code == 404
    assert owner_client.delete(f"/api/workers/{worker.pk}/calendar-feed/").status_code == 204
    assert Client().get(response.json()["url"]).status_code == 404


def _feed_url(html: str) -> str:
    marker = 'data-testid="feed-url"'
    if marker not in html:
        return ""
    tag = html[html.rfind("<input", 0, html.index(marker)) : html.index(marker)]
    return tag.split('value="', 1)[1].split('"', 1)[0]


def test_a_dispatcher_manages_the_businesss_workers_but_not_its_service_area(bob: User, worker: Worker) -> None:
    """A dispatcher edits hours and time off of every worker of the business; a technician edits none; the service
    area stays the owner's."""
    dispatcher = User.objects.create_user("dora_dispatch", password="pw-123456-x", role=User.Role.TEAM)
    Worker.objects.create(owner=bob, user=dispatcher, name="Dora", role=Worker.Role.DISPATCHER)
    technician = User.objects.create_user("tom_tech", password="pw-123456-x", role=User.Role.TEAM)
    Worker.objects.create(owner=bob, user=technician, name="Tom", role=Worker.Role.TECHNICIAN)
    by_dispatcher, by_technician = Client(), Client()
    by_dispatcher.force_login(dispatcher)
    by_technician.force_login(technician)

    assert by_technician.get(page(worker)).status_code == 403
    shown = by_dispatcher.get(page(worker)).content.decode()
    assert "Service area" not in shown  # the owner's alone
    response = by_dispatcher.post(page(worker), {"action": "time_off_add", "starts_at": "2031-01-06T09:00", "ends_at": "2031-01-06T12:00"})
    assert response.status_code == 302 and TimeOff.objects.filter(worker=worker).count() == 1
    before = TradespersonProfile.objects.get(user=bob).service_radius_km
    assert by_dispatcher.post(page(worker), {"action": "area", "place": "N1", "service_radius_km": "2"}).status_code == 403
    assert TradespersonProfile.objects.get(user=bob).service_radius_km == before
