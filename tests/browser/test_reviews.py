"""Reviews through a browser, on the real stack: the customer reviews a completed job on their job page; another
person watching the tradesperson's public profile, never reloaded, sees the average, count and the review arrive
live; the tradesperson replies from his own profile page and the reply appears on the watcher's page too.

Screenshots go to test-artifacts/ui-reviews-*.png for review.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from jobs.models import Job, Lead, Trade
from jobs.services import job_complete, job_start_work
from marketplace.accounts.models import User
from reviews.models import Review
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import accept, submit
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: page -> API -> outbox -> relay -> Kafka -> ratings consumer -> Redis -> websocket


def completed_job() -> tuple[Job, User, User]:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price", time_zone="UTC")
    User.objects.create_user("eve", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Eve Stone", time_zone="UTC")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    job = post_job(dora, trade=plumbing, title="Dripping bathroom tap", latitude=Decimal("51.55"), longitude=Decimal("-0.10"))
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob).exists(), timeout=60, message="matching to offer the job to bob")
    accept(submit(job, bob), dora)
    job_start_work(job=Job.objects.get(pk=job.pk), actor=bob)
    job_complete(job=Job.objects.get(pk=job.pk), actor=bob)
    return Job.objects.get(pk=job.pk), dora, bob


def test_a_review_changes_the_public_rating_live(stack, new_page) -> None:
    job, _dora, bob = completed_job()
    base = stack.base_url

    # Eve is looking at Bob's public profile: no reviews yet.
    watcher = new_page()
    log_in(watcher, base, "eve")
    watcher.goto(f"{base}/pros/{bob.pk}/")
    panel = watcher.locator("#pro-reviews")
    expect(panel.locator("[data-testid=rating-count]")).to_have_text("0")
    expect(panel.locator("[data-testid=rating-average]")).to_have_text("–")
    expect(panel.locator("[data-testid=no-reviews]")).to_be_visible()
    wait_live(watcher, f"pro.{bob.pk}")
    mark(watcher)

    # Dora, on her job page, tries to post without stars (a readable refusal), then rates the job.
    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    card = customer.locator("[data-testid=job-review]")
    expect(card).to_be_visible()
    card.locator("[data-testid=review-submit]").click()
    expect(card.locator("[data-testid=review-error]")).to_contain_text("Rate the job overall and each of the four aspects")
    expect(card.locator("[data-error-for=rating]")).to_have_text("Choose 1 to 5 stars.")
    shot(customer, "reviews-form-errors")
    card.locator("label[for=rv-rating-4]").click()
    for aspect, stars in {"punctuality": 5, "quality": 4, "value": 3, "communication": 4}.items():
        card.locator(f"label[for=rv-{aspect}-{stars}]").click()
    card.locator("#rv-comment").fill("Fixed the tap quickly; a bit pricey.")
    card.locator("[data-testid=review-submit]").click()
    expect(card.locator("[data-testid=my-review]")).to_contain_text("Fixed the tap quickly")
    expect(card.locator("h2")).to_have_text("Your review")
    shot(customer, "reviews-job-page")
    assert Review.objects.filter(job=job, rating=4).count() == 1

    # Eve's page, never reloaded, shows the new average and count, the distribution and the review.
    expect(panel.locator("[data-testid=rating-count]")).to_have_text("1", timeout=LIVE)
    expect(panel.locator("[data-testid=rating-average]")).to_have_text("4.00")
    expect(panel.locator("[data-testid=rating-stars]")).to_have_text("★★★★☆")
    expect(panel.locator("[data-testid=rating-bars] li[data-stars='4'] .n")).to_have_text("1")
    expect(panel.locator("[data-testid=review-item]")).to_contain_text("Fixed the tap quickly")
    expect(panel.locator("[data-testid=review-item]")).to_contain_text("Dora")
    expect(panel.locator("[data-testid=no-reviews]")).to_be_hidden()
    assert_not_reloaded(watcher)

    # Bob, on his own profile, replies once from the form under the review (an empty reply gets a readable refusal);
    # the reply reaches Eve's page live as well.
    owner = new_page()
    log_in(owner, base, "bob")
    owner.goto(f"{base}/pros/{bob.pk}/")
    form = owner.locator("[data-testid=reply-form]")
    expect(form).to_have_count(1)
    form.locator("[data-testid=reply-submit]").click()
    expect(form.locator("[data-testid=reply-error]")).to_have_text("Write a reply first.")
    form.locator("textarea").fill("Thanks Dora, glad it's sorted.")
    form.locator("[data-testid=reply-submit]").click()
    expect(owner.locator("[data-testid=review-reply]")).to_contain_text("glad it's sorted")
    expect(owner.locator("[data-testid=reply-form]")).to_have_count(0)
    shot(owner, "reviews-owner-profile")

    expect(panel.locator("[data-testid=review-reply]")).to_contain_text("glad it's sorted", timeout=LIVE)
    assert_not_reloaded(watcher)
    shot(watcher, "reviews-public-profile")
    assert Review.objects.get(job=job).reply == "Thanks Dora, glad it's sorted."
