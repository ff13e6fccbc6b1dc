"""Tracking through a browser, on the real stack: the tradesperson taps "On my way" on their phone page, which shares
the browser's geolocation (Playwright moves it step by step towards the job); the customer's job page, never reloaded,
shows the marker moving on the local SVG map and the ETA changing, then the arrival detected by the geofence; the
tradesperson starts work, pauses, resumes and completes it (after a confirmation), and the customer sees each step.

Screenshots go to test-artifacts/ui-tracking-*.png for review.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Dialog, Locator, Page, Route, expect

from jobs.models import Job, Lead, Trade
from marketplace.accounts.models import User
from scheduling.services import appointment_book
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import accept, submit
from tests.scheduling.helpers import awarded_job, future_monday, worker_all_week
from tests.support import wait_until
from tracking.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: page -> pings API -> Kafka -> tracking consumer -> Redis -> websocket
JOB_AT = (51.55, -0.10)
# From about 3 km south, in steps, to the door (the last fix is inside the 150 m geofence).
ROUTE = [(51.523, -0.100), (51.529, -0.101), (51.535, -0.101), (51.541, -0.100), (51.546, -0.100)]


def scheduled_job() -> tuple[Job, User, User]:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price", time_zone="UTC")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    worker = worker_all_week(bob, start=time(0), end=time(23, 30), buffer=0, zone="UTC")
    job = post_job(
        dora, trade=plumbing, title="Dripping bathroom tap", latitude=Decimal("51.55"), longitude=Decimal("-0.10"), place="Highbury N5"
    )
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob).exists(), timeout=60, message="matching to offer the job to bob")
    accept(submit(job, bob), dora)
    now = datetime.now(UTC)
    starts = min(
        now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), now.replace(hour=22, minute=30, second=0, microsecond=0)
    )
    if starts <= now:  # the last half hour of the day: tomorrow morning
        starts = now.replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
    appointment_book(job=Job.objects.get(pk=job.pk), worker=worker, starts_at=starts, duration_minutes=60, actor=dora)
    return Job.objects.get(pk=job.pk), dora, bob


# True once the customer's marker shows the fix at ``lat``.
MARKER_AT = (
    "lat => { const m = document.querySelector('[data-testid=tracking-marker]');"
    " return m && Math.abs(Number(m.dataset.lat) - lat) < 1e-6; }"
)


def visit_page(new_page: Any, base: str, job: Job) -> tuple[Page, Locator]:
    """Bob's phone on the job's visit page, the browser's location allowed and set at the start of ROUTE."""
    phone: Page = new_page()
    phone.set_viewport_size(PHONE)
    phone.context.grant_permissions(["geolocation"], origin=base)
    phone.context.set_geolocation({"latitude": ROUTE[0][0], "longitude": ROUTE[0][1], "accuracy": 10})
    log_in(phone, base, "bob")
    phone.goto(f"{base}/visits/{job.pk}/")
    return phone, phone.locator("#visit")


def marker_km(page: Page) -> float:
    return float(page.locator("[data-testid=tracking-marker]").get_attribute("data-distance-km") or "nan")


def test_the_customer_follows_the_tradesperson_live_until_the_geofence_detects_arrival(stack, new_page) -> None:
    job, _dora, _bob = scheduled_job()
    base = stack.base_url

    # Dora's job page: the visit panel, booked, nothing to see yet.
    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    panel = customer.locator("#tracking")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("Scheduled")
    expect(panel.locator("[data-testid=tracking-map]")).to_be_hidden()
    wait_live(customer, f"job.{job.pk}")
    mark(customer)

    # Bob's phone: the visit page, with the browser's location allowed and set 3 km south of the job.
    phone, visit = visit_page(new_page, base, job)
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Scheduled")
    expect(visit.locator("[data-action=arrived]")).to_be_hidden()
    wait_live(phone, f"track.{job.pk}")
    shot(phone, "tracking-visit-scheduled-phone")
    visit.locator("[data-action=on_the_way]").click()
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("On the way")
    expect(visit.locator("[data-testid=visit-sharing]")).to_have_attribute("data-state", "on")
    expect(visit.locator("[data-action=arrived]")).to_be_visible()

    # Dora's page follows: on the way, then the marker and an ETA.
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("On the way", timeout=LIVE)
    marker = panel.locator("[data-testid=tracking-marker]")
    expect(marker).to_be_visible(timeout=LIVE)
    eta = panel.locator("[data-testid=tracking-eta]")
    expect(eta).to_contain_text("Arriving in about", timeout=LIVE)
    distances, etas = [marker_km(customer)], [eta.inner_text()]
    assert 2.5 < distances[0] < 3.5, distances
    shot(customer, "tracking-customer-on-the-way")

    # Bob drives towards the job: every step moves Dora's marker closer and changes her ETA, live.
    for lat, lng in ROUTE[1:]:
        phone.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 10})
        customer.wait_for_function(
            MARKER_AT,
            arg=lat,
            timeout=LIVE,
        )
        distances.append(marker_km(customer))
        etas.append(eta.inner_text())
    assert distances == sorted(distances, reverse=True) and distances[-1] < 0.6, distances
    assert len(set(etas)) >= 3, etas
    expect(panel.locator("[data-testid=tracking-trail]")).to_be_visible()
    shot(customer, "tracking-customer-approaching")
    shot(phone, "tracking-visit-on-the-way-phone")

    # At the door, without tapping anything: the geofence detects the arrival; the position disappears for Dora.
    phone.context.set_geolocation({"latitude": JOB_AT[0] + 0.0003, "longitude": JOB_AT[1], "accuracy": 10})
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("Arrived", timeout=LIVE)
    expect(eta).to_contain_text("detected from their location")
    expect(panel.locator("[data-testid=tracking-map]")).to_be_hidden()
    expect(panel.locator('[data-testid=tracking-timeline] li[data-stage="arrived"]')).to_contain_text("(detected)")
    visit_row = Visit.objects.get(job=job)
    assert visit_row.stage == "arrived" and visit_row.arrived_auto
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Arrived", timeout=LIVE)
    expect(visit.locator("[data-action=start]")).to_be_visible()
    shot(customer, "tracking-customer-arrived")

    # Bob starts work from his phone; Dora sees it.
    visit.locator("[data-action=start]").click()
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Working")
    expect(visit.locator("[data-testid=visit-sharing]")).to_have_attribute("data-state", "off")
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("Working", timeout=LIVE)
    expect(customer.locator("#job-status")).to_have_text("In progress", timeout=LIVE)
    assert Job.objects.get(pk=job.pk).status == Job.Status.IN_PROGRESS
    shot(phone, "tracking-visit-working-phone")

    # A break (waiting for a part): Bob pauses, Dora sees it; he resumes, she sees that too.
    visit.locator("[data-action=pause]").click()
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Paused")
    expect(visit.locator("[data-action=resume]")).to_be_visible()
    expect(visit.locator("[data-action=pause]")).to_be_hidden()
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("Paused", timeout=LIVE)
    visit.locator("[data-action=resume]").click()
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Working")
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("Working", timeout=LIVE)

    # Done: completing asks first (the customer's payment is taken); dismissing it changes nothing.
    prompts: list[str] = []

    def decline(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        dialog.dismiss()

    phone.once("dialog", decline)
    visit.locator("[data-action=complete]").click()
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Working")
    assert prompts and "payment" in prompts[0], prompts
    phone.once("dialog", lambda dialog: dialog.accept())
    visit.locator("[data-action=complete]").click()
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Completed")
    expect(panel.locator("[data-testid=tracking-stage]")).to_have_text("Completed", timeout=LIVE)
    expect(customer.locator("#job-status")).to_have_text("Completed", timeout=LIVE)
    assert Job.objects.get(pk=job.pk).status == Job.Status.COMPLETED
    steps = list(Visit.objects.get(job=job).steps.order_by("at", "pk").values_list("stage", flat=True))
    assert steps == ["on_the_way", "arrived", "working", "paused", "working", "completed"], steps
    shot(phone, "tracking-visit-completed-phone")
    assert_not_reloaded(customer)
    customer.set_viewport_size(PHONE)
    shot(customer, "tracking-customer-phone")


def test_a_position_answered_503_is_kept_and_sent_again(stack, new_page) -> None:
    """The broker is briefly away and the pings API answers 503 tracking_unavailable ("keep the pings": the server
    side is tests/tracking/test_pings.py, on a stopped broker). Bob's phone stands still, so no newer fix would
    replace a dropped one: it says so, keeps the fix, sends it again, and Dora sees where he is."""
    job, _dora, _bob = scheduled_job()
    base = stack.base_url
    phone, visit = visit_page(new_page, base, job)
    answers: list[int] = []

    def broker_away_once(route: Route) -> None:
        if answers:
            answers.append(202)
            route.continue_()
            return
        answers.append(503)
        body = {"error": {"code": "tracking_unavailable", "message": "Tracking is briefly unavailable; keep the pings and retry shortly."}}
        route.fulfill(status=503, content_type="application/json", headers={"Retry-After": "1"}, body=json.dumps(body))

    phone.route("**/api/tracking/pings/", broker_away_once)
    wait_live(phone, f"track.{job.pk}")
    mark(phone)
    visit.locator("[data-action=on_the_way]").click()
    sharing = visit.locator("[data-testid=visit-sharing]")
    expect(sharing).to_contain_text("your positions will be sent shortly")
    expect(sharing).to_contain_text("1 position sent", timeout=LIVE)
    assert answers[:2] == [503, 202], answers

    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    customer.wait_for_function(MARKER_AT, arg=ROUTE[0][0], timeout=LIVE)
    assert float(Visit.objects.get(job=job).last_lat or 0) == pytest.approx(ROUTE[0][0])
    assert_not_reloaded(phone)
    phone.unroute_all(behavior="ignoreErrors")


@pytest.mark.django_db
def test_only_the_tradesperson_doing_the_job_opens_its_visit_page() -> None:
    job, dora, bob = _quick_scheduled_job()
    other = pro("eve")
    for user, expected in ((bob, 200), (dora, 404), (other, 404)):
        client = Client()
        client.force_login(user)
        response = client.get(f"/visits/{job.pk}/")
        assert response.status_code == expected, (user.username, response.status_code)
    page = Client()
    page.force_login(bob)
    html = page.get(f"/visits/{job.pk}/").content.decode()
    assert 'data-action="on_the_way"' in html and f'"track_stream": "track.{job.pk}"' in html
    assert Client().get(f"/visits/{job.pk}/").status_code == 302  # anonymous: to the login page


def _quick_scheduled_job() -> tuple[Job, User, User]:
    """A scheduled job without the stack (leads offered directly)."""
    dora = User.objects.create_user("dora2", password="pw-123456-x", role=User.Role.CUSTOMER)
    bob = pro("bob2")
    worker = worker_all_week(bob)
    job = awarded_job(dora, bob)
    appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=dora)
    return Job.objects.get(pk=job.pk), dora, bob


def test_the_trip_is_called_off_live_when_the_customer_cancels_the_appointment(stack, new_page) -> None:
    """Bob is on his way and Dora watches him come; she cancels the appointment from her job page. His phone stops
    sharing and shows the visit back to scheduled, and her page stops showing where he is, both without a reload."""
    job, _dora, _bob = scheduled_job()
    base = stack.base_url

    phone, visit = visit_page(new_page, base, job)
    wait_live(phone, f"track.{job.pk}")
    mark(phone)
    visit.locator("[data-action=on_the_way]").click()
    expect(visit.locator("[data-testid=visit-sharing]")).to_have_attribute("data-state", "on")

    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}")
    mark(customer)
    panel = customer.locator("#tracking")
    expect(panel.locator("[data-testid=tracking-marker]")).to_be_visible(timeout=LIVE)

    section = customer.locator("#appointment")
    section.locator("[data-testid=appointment-cancel]").click()
    section.locator("[data-testid=confirm-cancel]").click()

    expect(panel).to_be_hidden(timeout=LIVE)  # no appointment, no trip: nothing about where he is
    expect(visit.locator("[data-testid=visit-stage]")).to_have_text("Scheduled", timeout=LIVE)
    expect(visit.locator("[data-testid=visit-sharing]")).to_have_attribute("data-state", "off")
    expect(visit.locator("[data-action=arrived]")).to_be_hidden()
    expect(visit.locator("[data-testid=visit-where]")).to_contain_text("no appointment booked")
    expect(visit.locator("[data-testid=visit-none]")).to_contain_text("book a time on the job page")
    steps = visit.locator("[data-testid=visit-timeline] li strong")
    expect(steps).to_have_text(["On the way", "Trip called off"])  # the history says what happened, not "Scheduled"
    row = Visit.objects.get(job=job)
    assert row.stage == "scheduled" and row.last_lat is None
    assert_not_reloaded(customer)
    assert_not_reloaded(phone)
    shot(phone, "tracking-visit-called-off-phone")
