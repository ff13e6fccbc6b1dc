"""Moderation through a browser, on the real stack: a visitor reports a review from the Report dialog on a phone-sized
page; staff hide the review (reviews.moderation, as the admin queue does) and it disappears from the visitor's open
profile page, never reloaded (content.hidden -> directory-live -> pro.<id>).

Screenshots go to test-artifacts/ui-moderation-*.png for review.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reviews.models import Report
from reviews.moderation import moderation_decide
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.browser.test_reviews import LIVE, completed_job
from tests.factories import StaffFactory
from tests.reviews.helpers import review

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_reported_review_hidden_by_staff_disappears_live(stack, new_page) -> None:
    job, dora, bob = completed_job()
    posted = review(job, dora, rating=2, comment="Left a mess behind.")
    base = stack.base_url

    watcher = new_page()
    log_in(watcher, base, "eve")
    watcher.goto(f"{base}/pros/{bob.pk}/")
    panel = watcher.locator("#pro-reviews")
    expect(panel.locator("[data-testid=review-item]")).to_contain_text("Left a mess behind.")
    wait_live(watcher, f"pro.{bob.pk}")
    mark(watcher)
    shot(watcher, "moderation-profile-1280")

    # On a phone: Report opens the dialog; a reason is required, the details are optional.
    watcher.set_viewport_size({"width": 390, "height": 844})
    panel.locator("[data-testid=report-review]").click()
    dialog = watcher.locator("[data-testid=report-dialog]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-testid=report-what]")).to_have_text("You are reporting a review.")
    dialog.locator("[data-testid=report-submit]").click()
    expect(dialog.locator("[data-testid=report-error]")).to_have_text("Choose what is wrong.")
    dialog.get_by_label("Fake or misleading").check()
    dialog.locator("#report-text").fill("They never hired him.")
    shot(watcher, "moderation-report-390")
    width = watcher.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at 390px"
    dialog.locator("[data-testid=report-submit]").click()
    expect(dialog.locator("[data-testid=report-done]")).to_have_text("Thank you. Our moderators will look at it.")
    dialog.locator("[data-testid=report-cancel]").click()
    expect(dialog).to_be_hidden()
    report = Report.objects.get()
    assert report.reporter is not None and report.reporter.username == "eve"
    assert (report.review_id, report.reason, report.text) == (posted.pk, "fake", "They never hired him.")

    # Staff hide it (the admin queue calls the same service): it leaves Eve's page live.
    moderation_decide(target="review", object_id=posted.pk, moderator=StaffFactory.create(), action="hide", reason="Reported as fake")
    expect(panel.locator("[data-testid=review-item]")).to_have_count(0, timeout=LIVE)
    expect(panel.locator("[data-testid=no-reviews]")).to_be_visible()
    assert_not_reloaded(watcher)
    shot(watcher, "moderation-hidden-390")
