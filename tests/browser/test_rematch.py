"""Matching keeps up, in a browser: the customer moves the job far away and the tradesperson's open lead page
says, live, that it no longer matches them. Screenshots: test-artifacts/ui-lead-withdrawn-*.png."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from jobs.models import Lead
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import LIVE_TIMEOUT, PHONE, assert_not_reloaded, mark, people, shot, wait_live
from tests.factories import post_job
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_moving_the_job_far_away_withdraws_the_open_lead_live(stack, new_page) -> None:
    plumbing, customer_user, pro = people()
    base = stack.base_url
    job = post_job(
        customer_user,
        trade=plumbing,
        title="Dripping shower",
        place="Highbury N5",
        latitude=Decimal("51.55340"),
        longitude=Decimal("-0.09790"),
    )
    wait_until(
        lambda: Lead.objects.filter(job=job, tradesperson=pro).exists(), timeout=LIVE_TIMEOUT / 1000, message="matching to offer the lead"
    )

    trader = new_page()
    log_in(trader, base, "pete")
    trader.goto(f"{base}/leads/{job.pk}/")
    expect(trader.locator("#quote-builder")).to_be_visible()
    wait_live(trader, f"jobfeed.{job.pk}", f"user.{pro.pk}")
    mark(trader)

    customer = new_page()
    log_in(customer, base, "carol")
    customer.goto(f"{base}/jobs/{job.pk}/edit/")
    customer.get_by_label("Place or postcode district").fill("Cambridge CB1")
    customer.get_by_role("button", name="Save changes").click()
    customer.wait_for_url(f"{base}/jobs/{job.pk}/")
    expect(customer.locator(".flash.success")).to_contain_text("Job updated")
    expect(customer.get_by_test_id("invited")).to_contain_text("You see who they are when they bid.")
    expect(customer.locator("#job-emergency")).to_be_hidden()
    shot(customer, "job-invited-1280")

    expect(trader.locator("#live-banner")).to_contain_text("This job changed and no longer matches you", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#quote-builder")).to_be_hidden()
    expect(trader.locator("#bid-section")).to_be_hidden()
    expect(trader.get_by_text("km from your base")).to_be_hidden()
    assert_not_reloaded(trader)
    shot(trader, "lead-withdrawn-1280")
    trader.set_viewport_size(PHONE)
    shot(trader, "lead-withdrawn-390")
    assert trader.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    trader.goto(f"{base}/leads/")
    card = trader.locator(f'#leads .lead[data-job-id="{job.pk}"]')
    expect(card).to_contain_text("No longer matches you")
    expect(card).not_to_contain_text("km away")
    shot(trader, "leads-withdrawn-390")
    trader.set_viewport_size({"width": 1280, "height": 900})
    shot(trader, "leads-withdrawn-1280")
