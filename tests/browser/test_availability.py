"""The availability page in a browser: the owner reaches it from the calendar, adds time off (the slots offered
lose that time at once), is told in a sentence what is wrong with overlapping hours, and makes a calendar link
that serves the feed; at 1280 px, then the same page at 390 px.

Screenshots go to test-artifacts/ui-availability-*.png for review.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from scheduling import selectors
from scheduling.models import TimeOff
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, shot
from tests.factories import pro
from tests.scheduling.helpers import future_monday, worker_all_week

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than the screen"


def test_the_owner_adds_time_off_fixes_hours_and_makes_a_calendar_link(live_server, transactional_db, new_page) -> None:
    bob = pro("bob", business_name="Bob's Boilers")
    worker = worker_all_week(bob)
    monday = future_monday(10)  # a winter Monday: London is on UTC
    hour = timedelta(hours=1)
    assert selectors.next_free_slots(worker=worker, duration=hour, after=monday, count=1) == [monday]

    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/calendar/")
    page.get_by_role("link", name="Availability").click()
    page.wait_for_url(f"{live_server.url}/availability/{worker.pk}/")

    day = monday.astimezone(ZoneInfo("Europe/London")).date().isoformat()
    page.get_by_label("From").fill(f"{day}T09:00")
    page.get_by_label("Until").fill(f"{day}T13:00")
    page.get_by_label("Reason").fill("Van MOT")
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_role("status").first).to_contain_text("Time off added")
    expect(page.get_by_test_id("time-off-list")).to_contain_text("Van MOT")
    assert TimeOff.objects.filter(worker=worker).count() == 1
    assert selectors.next_free_slots(worker=worker, duration=hour, after=monday, count=1) == [monday + 3 * hour]

    page.get_by_label("Monday").fill("08:00-12:00, 11:00-17:00")
    page.get_by_role("button", name="Save working hours").click()
    expect(page.locator("#hours")).to_contain_text("Monday: 08:00–12:00 and 11:00–17:00 overlap.")
    fits(page)
    shot(page, "availability-hours-error-1280")

    page.get_by_role("button", name="Make a calendar link").click()
    feed = page.get_by_test_id("feed-url")
    expect(feed).to_be_visible()
    url = feed.input_value()
    answer = page.request.get(url)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/calendar")
    expect(page.get_by_role("button", name="Revoke and make a new link")).to_be_visible()
    fits(page)
    shot(page, "availability-1280")

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_test_id("time-off-list")).to_contain_text("Van MOT")
    expect(page.get_by_test_id("feed-url")).to_have_count(0)  # the link is shown once only
    fits(page)
    shot(page, "availability-390")
