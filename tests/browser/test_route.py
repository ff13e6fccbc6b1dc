"""A worker's route for the day on the dispatch board, on the real stack: the route panel lists the stops in time order with
travel minutes, and when another appointment is booked it re-plans live (never reloaded) and suggests the order that saves
travel.

Screenshots go to test-artifacts/ui-route-*.png for review.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from scheduling import services as scheduling
from scheduling.models import Worker
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.browser.test_scheduling import LIVE, awarded, london, monday_of, people, target_day

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KM = Decimal("0.00899")  # about one kilometre of latitude


def test_the_route_panel_shows_travel_and_replans_live_when_an_appointment_is_added(stack, new_page) -> None:
    plumbing, dora, bob = people()
    worker = Worker.objects.get(owner=bob, user=bob)
    day = target_day()
    jobs = []
    for title, place, km in (("Boiler service", "Highbury N5", 0), ("Leaking radiator", "Hampstead NW3", 6), ("New tap", "Camden NW1", 2)):
        job = awarded(dora, bob, plumbing, title)
        Job.objects.filter(pk=job.pk).update(place=place, latitude=Decimal("51.55") + km * KM)
        jobs.append(job)
    for job, hour in zip(jobs[:2], (9, 11), strict=False):
        scheduling.appointment_book(job=job, worker=worker, starts_at=london(day, hour), duration_minutes=60, actor=bob)

    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, stack.base_url, "bob")
    page.goto(f"{stack.base_url}/dispatch/?week={monday_of(day).isoformat()}&day={day.isoformat()}")
    wait_live(page, f"calendar.{bob.pk}")
    mark(page)
    panel = page.locator(f'[data-testid=route-panel][data-worker="{worker.pk}"]')
    expect(panel.locator("[data-testid=route-stop]")).to_have_count(2)
    expect(panel.locator("[data-testid=route-leg]")).to_have_text(["↓ ~20 min drive"])
    expect(panel.locator("[data-testid=route-total]")).to_have_text("Total travel 20 min")
    expect(panel.locator("[data-testid=route-suggestion]")).to_have_count(0)

    # A third job, 2 km from the first, is booked last: the day zigzags 0 -> 6 -> 2 km, and the panel says so, live.
    scheduling.appointment_book(job=jobs[2], worker=worker, starts_at=london(day, 13), duration_minutes=60, actor=bob)
    expect(panel.locator("[data-testid=route-stop]")).to_have_count(3, timeout=LIVE)
    expect(panel.locator("[data-testid=route-total]")).to_have_text("Total travel 35 min")
    expect(panel.locator("[data-testid=route-suggestion]")).to_contain_text("Suggested order saves 10 min")
    assert_not_reloaded(page)
    panel.scroll_into_view_if_needed()
    shot(page, "route-dispatch")
    page.set_viewport_size(PHONE)
    # The route panels fit a phone (the board's table scrolls inside its own box).
    assert page.evaluate("document.getElementById('routes').getBoundingClientRect().right <= window.innerWidth")
    assert page.evaluate("[...document.querySelectorAll('#routes *')].every(n => n.scrollWidth <= n.clientWidth + 1 || !n.clientWidth)")
    shot(page, "route-dispatch-phone")

    # The week calendar (a technician's view of their week) carries the same panels.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{stack.base_url}/calendar/?week={monday_of(day).isoformat()}&day={day.isoformat()}")
    expect(page.locator("[data-testid=route-panel] [data-testid=route-stop]")).to_have_count(3)
    shot(page, "route-calendar")
    page.set_viewport_size(PHONE)
    shot(page, "route-calendar-phone")
