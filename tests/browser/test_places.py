"""A customer in Edinburgh posts a job: the place field suggests UK postcode districts as they type.

Screenshots at 1280 and 390 px wide go to test-artifacts/ui-places-*.png for review.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from jobs.models import Job
from tests.factories import trade
from tests.support import ARTIFACTS

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def test_a_customer_in_edinburgh_picks_their_district_from_the_suggestions(stack, new_page, customer) -> None:
    trade()
    page: Page = new_page()
    log_in(page, stack.base_url, customer.username)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    place = page.get_by_label("Place or postcode district")
    suggestions = page.locator("#places-list option")
    for name, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto(f"{stack.base_url}/jobs/new/")
        place.press_sequentially("edinb", delay=30)
        expect(suggestions.first).to_have_attribute("value", "Edinburgh EH1")  # from /api/places/, not the London list
        place.fill("")
        place.press_sequentially("EH1 1", delay=30)  # a postcode being typed: just its district
        expect(suggestions).to_have_count(1)
        expect(suggestions.first).to_have_attribute("value", "Edinburgh EH1")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]  # nothing wider than the screen
        place.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 200)")
        page.screenshot(path=str(ARTIFACTS / f"ui-places-form-{name}.png"))

    page.get_by_label("Trade").select_option(label="Plumbing")
    page.get_by_label("Title").fill("Boiler not firing")
    page.get_by_label("Describe the job").fill("Combi boiler shows F28.")
    place.fill("Edinburgh EH1")  # what choosing the suggestion puts in the field
    page.get_by_role("button", name="Post job").click()
    page.wait_for_url(re.compile(rf"{stack.base_url}/jobs/\d+/$"))
    expect(page.locator("main")).to_contain_text("Edinburgh EH1")
    page.screenshot(path=str(ARTIFACTS / "ui-places-job-phone.png"), full_page=True)
    job = Job.objects.get()
    assert (job.place, str(job.latitude), str(job.longitude)) == ("Edinburgh EH1", "55.95030", "-3.18950")
