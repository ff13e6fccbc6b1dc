"""One price everywhere, in a browser (issue 19): a bid with three options says "from" its cheapest total with
the VAT under it; the accept-and-pay form is readable at 1280 px and 390 px (the pay button's text is never cut
off, nothing is wider than the screen); a declined card keeps what the customer typed and says why in words;
accepting shows what was accepted, not a struck-through other price; the deposit banner goes live at completion.

Screenshots go to test-artifacts/ui-price-*.png for review.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job, Lead, Trade
from jobs.services import job_complete, job_start_work
from marketplace.accounts.models import User
from marketplace.money import format_money
from payments.models import Payment
from quotes.models import PromoCode, QuoteAcceptance
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import good_better_best, submit
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 15_000  # ms


def no_overflow(page: Page) -> None:
    """Nothing on the page is wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), "the page scrolls sideways"


def test_three_options_one_price_a_readable_accept_form_and_a_declined_card_that_keeps_the_promo(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    customer_user = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    job = post_job(customer_user, trade=plumbing, title="Dripping tap", latitude=Decimal("51.55"), longitude=Decimal("-0.10"), place="N5")
    wait_until(lambda: Lead.objects.filter(job=job).exists(), timeout=30, message="matching to offer the job to bob")
    version = submit(job, bob, good_better_best())
    PromoCode.objects.create(code="SAVE10", kind=PromoCode.Kind.PERCENT, value=Decimal("10"))
    options = {o.tier: o for o in version.options.all()}
    cheapest = min(options.values(), key=lambda o: o.total)
    better = options["better"]
    base = stack.base_url

    # --- the headline and the form, at both widths ---------------------------------------------------
    pages: dict[int, Page] = {}
    for width in (390, 1280):
        page = new_page()
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, base, "dora")
        page.goto(f"{base}/jobs/{job.pk}/")
        card = page.locator("#bids .bid")
        expect(card.locator(".bid-amount")).to_have_text(f"from {format_money(cheapest.total)}")
        expect(card.locator(".vat-note")).to_have_text(f"incl. {format_money(cheapest.tax)} VAT")
        expect(card.locator(".was")).to_have_text("")
        column = card.locator('.quote-col[data-tier="better"]')
        column.get_by_text(f"Accept {better.label}").click()
        button = column.locator(".accept-button")
        expect(button).to_have_text(f"Accept and pay {format_money(better.deposit)} deposit")
        expect(button).to_be_visible()
        assert button.evaluate("b => b.scrollWidth <= b.clientWidth && b.scrollHeight <= b.clientHeight + 1"), (
            "the pay button's text is cut off"
        )
        form_width = column.locator(".accept-form").evaluate("f => f.getBoundingClientRect().width")
        assert form_width >= (240 if width < 600 else 360), f"the accept form is squeezed to {form_width}px at {width}px"
        no_overflow(page)
        column.scroll_into_view_if_needed()
        shot(page, f"price-accept-{width}")
        pages[width] = page

    # --- a declined card keeps the promo code, the option and the card, and says why in words ---------
    page = pages[1280]
    wait_live(page, f"job.{job.pk}")
    column = page.locator('#bids .bid .quote-col[data-tier="better"]')
    column.get_by_label("Promo code").fill("SAVE10")
    column.get_by_role("button", name="Apply").click()
    expect(column.locator(".promo-msg")).to_contain_text("SAVE10 applied")
    column.get_by_label("Test card").select_option("tok_decline")
    column.locator(".accept-button").click()
    column = page.locator('#bids .bid .quote-col[data-tier="better"]')
    expect(column.locator(".form-error")).to_contain_text("Your card was declined: the bank declined the card.")
    expect(column.get_by_label("Promo code")).to_have_value("SAVE10")
    expect(column.get_by_label("Test card")).to_have_value("tok_decline")
    discounted_total = column.locator('.accept-figures [data-fig="total"]').inner_text()
    assert discounted_total != format_money(better.total), "the form forgot the promo's figures"
    assert "card_declined" not in page.content()
    expect(page.locator("#job-status")).to_have_text("Open")
    no_overflow(page)
    column.scroll_into_view_if_needed()
    shot(page, "price-declined-1280")

    # --- the test Visa: the headline becomes what was accepted, never another option struck through ---
    column.get_by_label("Test card").select_option("tok_visa")
    column.locator(".accept-button").click()
    expect(page.locator(".flash.success")).to_contain_text("Accepted. We've told the tradesperson")
    acceptance = QuoteAcceptance.objects.get(job=job)
    assert (acceptance.option.tier, acceptance.promo_code) == ("better", "SAVE10")
    card = page.locator("#bids .bid")
    expect(card.locator(".bid-amount")).to_have_text(format_money(acceptance.total))
    expect(card.locator(".vat-note")).to_have_text(f"incl. {format_money(acceptance.tax)} VAT")
    expect(card.locator(".was")).to_have_text("")
    expect(page.locator("#accepted-banner")).to_contain_text(f"Accepted — {format_money(acceptance.deposit)} deposit held")
    expect(page.locator("#job-banner")).to_be_hidden()
    shot(page, "price-accepted-1280")

    # The other tab (never reloaded) agrees: the same headline and the same single banner.
    other = pages[390]
    expect(other.locator("#bids .bid .bid-amount")).to_have_text(format_money(acceptance.total), timeout=LIVE)
    expect(other.locator("#accepted-banner")).to_contain_text("deposit held", timeout=LIVE)
    expect(other.locator("#job-banner")).to_be_hidden()
    expect(other.locator("#edit-job")).to_be_hidden()  # an awarded job can't be edited: the button goes live too
    no_overflow(other)
    shot(other, "price-accepted-other-tab-390")

    # --- completion: the deposit banner (and the "deposit held" flash) go without a reload -----------
    wait_live(page, f"job.{job.pk}")
    mark(page)
    job_start_work(job=Job.objects.get(pk=job.pk), actor=bob)
    job_complete(job=Job.objects.get(pk=job.pk), actor=bob)
    expect(page.locator("#payment-status")).not_to_have_text("Deposit held", timeout=LIVE)
    expect(page.locator("#accepted-banner")).to_be_hidden()
    expect(page.locator(".flash.payment")).to_have_count(0)
    expect(other.locator("#accepted-banner")).to_be_hidden(timeout=LIVE)
    assert_not_reloaded(page)
    assert Payment.objects.get(job=job).status != Payment.Status.DEPOSIT_HELD
    shot(page, "price-completed-1280")
