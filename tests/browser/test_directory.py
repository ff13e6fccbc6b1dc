"""Finding a pro through a browser, on the real stack: a customer searches by trade and postcode, opens the best
match's profile and sees its verified Gas Safe badge; the credential then passes its expiry date (the clock's task,
run here with a pinned clock) and the badge leaves the open page, which is never reloaded.

Screenshots go to test-artifacts/ui-directory-*.png (1280 and 390 px wide) for review.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from jobs.credentials import credential_add, credential_verify, credentials_expire_due
from jobs.models import ProStats, Trade
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import BRIXTON, pro

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: clock -> outbox -> relay -> Kafka -> directory-live consumer -> Redis -> websocket


def test_a_customer_finds_a_pro_and_sees_an_expired_badge_drop_live(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    Trade.objects.create(slug="electrical", name="Electrical")
    User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price")
    staff = User.objects.create_user("checker", password="x", is_staff=True)
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers", base_place="Islington N1", bio="Boilers, radiators, bathrooms.")
    pro("cat", trades=[plumbing], business_name="Cat Plumbing Co", base_place="Islington N1")
    pro("bri", trades=[plumbing], business_name="Brixton Pipes", at=BRIXTON, radius=5)  # does not cover N1
    ProStats.objects.create(tradesperson_id=bob.pk, rating_average="4.80", rating_count=12, bids_placed=3, response_seconds_total=3 * 900)
    last_day = timezone.localdate() + timedelta(days=40)
    credential = credential_add(user=bob, kind="gas_safe", number="GS-554433", expires_on=last_day)
    credential_verify(credential=credential, staff=staff)
    base = stack.base_url

    page = new_page()
    log_in(page, base, "dora")
    page.get_by_role("link", name="Find a pro").click()
    page.get_by_label("Trade").select_option("plumbing")
    page.get_by_label("Postcode or area").fill("N1 9GU")
    page.get_by_role("button", name="Search").click()
    results = page.locator("[data-testid=directory-results] > li")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text("Bob's Boilers")
    expect(results.first.locator("[data-testid=directory-badge]")).to_have_text("✓ Gas Safe registered")
    expect(page.locator("[data-testid=directory-count]")).to_contain_text("2 pros in plumbing covering Islington N1")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, f"directory-search-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})

    results.first.get_by_role("link", name="View profile").click()
    badges = page.locator("#pro-badges [data-testid=credential-badge]")
    expect(badges).to_have_count(1)
    expect(badges.first).to_have_text(f"✓ Gas Safe registered · until {last_day:%B %Y}")
    expect(page.locator("[data-testid=request-quote]")).to_have_attribute("href", f"/jobs/new/?pro={bob.pk}")
    wait_live(page, f"pro.{bob.pk}")
    mark(page)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, f"directory-profile-{width}")

    # The day after its last valid day, the clock's task expires it; the open page drops the badge by itself.
    with time_machine.travel(timezone.now() + timedelta(days=41), tick=True):
        assert credentials_expire_due() == 1
    expect(badges).to_have_count(0, timeout=LIVE)
    assert_not_reloaded(page)
    shot(page, "directory-profile-expired-390")
