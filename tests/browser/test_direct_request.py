"""A direct request in a browser, on the real stack: the customer asks one pro for a quote from their public profile
(answering the trade's question), reads "Sent to <business> first" on their job page; the pro, whose leads page is
open and never reloaded, sees the lead arrive, opens it and declines; the customer's page, never reloaded either,
then says other tradespeople are being invited.

Screenshots go to test-artifacts/ui-direct-*.png (1280 and 390 px wide) for review.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job, Trade, TradeQuestion
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.factories import pro
from tests.jobs.test_questions import ask

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: relay -> Kafka -> matching / job-live consumers -> Redis -> websocket


def both_widths(page: Page, name: str) -> None:
    """Screenshots at 1280 and 390 px wide, nothing wider than the phone's screen; back to 1280 after."""
    for size, width in (({"width": 1280, "height": 900}, "1280"), (PHONE, "390")):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(page, f"direct-{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_direct_request_reaches_the_pro_live_and_their_decline_opens_it_to_others_live(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    work = ask(plumbing, "plumbing_work", TradeQuestion.Kind.CHOICE, choices=("leak", "install"), position=1)
    TradeQuestion.objects.filter(pk=work.pk).update(label="What needs doing?")
    User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers", base_place="Islington N1")
    base = stack.base_url

    # Bob watches his leads; he never reloads the page.
    trader = new_page()
    log_in(trader, base, "bob")
    trader.goto(f"{base}/leads/")
    wait_live(trader, f"user.{bob.pk}")
    mark(trader)

    # Dora asks Bob from his profile; the form names him and already has his one trade.
    page = new_page()
    log_in(page, base, "dora")
    page.goto(f"{base}/pros/{bob.pk}/")
    page.get_by_role("link", name="Request a quote").click()
    expect(page.locator("#requested-pro")).to_contain_text("Bob's Boilers")
    expect(page.get_by_text("What needs doing?")).to_be_visible()
    page.get_by_label("Leak").check()
    page.get_by_label("Title").fill("Dripping bathroom tap")
    page.get_by_label("Describe the job").fill("The hot tap drips all night; probably a washer.")
    page.get_by_label("Place or postcode district").fill("Highbury N5")
    page.get_by_role("button", name="Post job").click()
    page.wait_for_url(re.compile(rf"{base}/jobs/\d+/$"))
    job = Job.objects.get()
    assert job.requested_pro_id == bob.pk
    note = page.locator("#direct-request")
    expect(note).to_contain_text("Sent to Bob's Boilers first")
    wait_live(page, f"job.{job.pk}")
    mark(page)
    both_widths(page, "job")

    # The lead arrives on Bob's open page; he opens it and declines.
    lead = trader.locator("#leads .lead").first
    expect(lead).to_contain_text("Dripping bathroom tap", timeout=LIVE)
    assert_not_reloaded(trader)
    lead.get_by_role("link").first.click()
    trader.wait_for_url(f"{base}/leads/{job.pk}/")
    expect(trader.locator("#direct-request")).to_contain_text("The customer asked you first")
    both_widths(trader, "lead")
    trader.on("dialog", lambda dialog: dialog.accept())
    trader.get_by_role("button", name="Decline the request").click()
    expect(trader.locator("#direct-request")).to_have_count(0)

    # Dora's page, never reloaded, now says others are invited.
    expect(note).to_have_text("Bob's Boilers can't take this job, so we've invited other tradespeople nearby.", timeout=LIVE)
    assert_not_reloaded(page)
    shot(page, "direct-job-opened-1280")
