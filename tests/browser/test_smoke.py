"""Smoke: a person logs in, the page goes live, and a job posted elsewhere appears without reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.factories import post_job
from tests.support import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_tradesperson_sees_a_new_job_arrive_live_on_the_home_page(stack, new_page) -> None:
    User.objects.create_user("bob_trader", password="pw-123456-x", role=User.Role.TRADESPERSON, display_name="Bob's Plumbing")
    customer = User.objects.create_user("alice_c", password="pw-123456-x", role=User.Role.CUSTOMER)
    page = new_page()
    log_in(page, stack.base_url, "bob_trader")
    expect(page.get_by_text("Bob's Plumbing")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("live")

    post_job(customer, title="Radiator leaking in hallway")  # committed: the relay and consumers pick it up

    expect(page.locator("#recent-jobs")).to_contain_text("Radiator leaking in hallway", timeout=15_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload happened
    page.screenshot(path=str(ARTIFACTS / "smoke-home.png"), full_page=True)  # for people to look at
