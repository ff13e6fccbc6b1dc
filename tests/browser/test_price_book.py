"""The price book through a browser: a tradesperson saves an item, starts a lead's quote from a template and adds
the item from the builder's picker (the server's engine prices it), sends it, and the customer sees it arrive live.

Screenshots (1280 px and 390 px) of the price book, a new template and the builder go to test-artifacts/ui-price-book-*.png.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Lead, Trade
from marketplace.accounts.models import User
from quotes.models import PriceBookItem, QuoteOption
from quotes.pricebook import TemplateLineInput, quote_template_save
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 10_000  # ms


def shots(page: Page, name: str) -> None:
    """The page at desktop and phone width; at 390 px nothing may be wider than the screen."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} is wider than {width} px"
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_saved_item_goes_into_a_quote_the_customer_sees_live(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price")
    bob_user = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    job = post_job(
        User.objects.get(username="dora"),
        trade=plumbing,
        title="Dripping bathroom tap",
        latitude=Decimal("51.55"),
        longitude=Decimal("-0.10"),
        place="Highbury N5",
    )
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob_user).exists(), timeout=30, message="matching to offer bob the job")
    base = stack.base_url

    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}")
    mark(customer)

    # Bob saves an item in his price book; a wrong price is refused with a sentence first.
    bob = new_page()
    log_in(bob, base, "bob")
    bob.goto(f"{base}/price-book/")
    form = bob.locator("#price-book-item-form")
    form.get_by_label("Name").fill("Tap cartridge")
    form.get_by_label("Text on the quote").fill("Replace tap cartridge (ceramic, 1/2 inch)")
    form.get_by_label("Unit (optional)").fill("each")
    form.get_by_label("Unit price before VAT").fill("18")
    form.get_by_role("button", name="Add to price book").click()
    expect(bob.locator(".flash.success")).to_contain_text("is in your price book")
    expect(bob.locator("#price-book-items .item")).to_have_count(1)
    assert PriceBookItem.objects.get(business=bob_user).unit_price == Decimal("18.00")
    shots(bob, "price-book")
    bob.get_by_role("link", name="New template").click()
    expect(bob.locator("#quote-template-form .tpl-row")).to_have_count(3)
    shots(bob, "price-book-template")

    # On the lead, he starts from his template, then the picker adds the item as an editable line; the server
    # prices them (25 call-out + 2 x 18 = 61 net, VAT 12.20, total 73.20).
    quote_template_save(
        business=bob_user,
        name="Call-out visit",
        lines=[TemplateLineInput(description="Call-out", unit_price=Decimal("25"), kind="callout")],
    )
    bob.goto(f"{base}/leads/{job.pk}/")
    option = bob.locator('#quote-builder .quote-option[data-index="0"]')
    option.get_by_label("Quote template").select_option(label="Call-out visit")
    option.get_by_role("button", name="Start from template").click()
    expect(option.locator(".line-row").first.get_by_label("Description")).to_have_value("Call-out")
    expect(option.locator('[data-fig="total"]')).to_have_text("£30.00")
    option.get_by_label("Item from your price book").select_option(label="Tap cartridge (£18.00 / each)")
    option.get_by_role("button", name="Add from price book").click()
    row = option.locator(".line-row").nth(1)
    expect(row.get_by_label("Description")).to_have_value("Replace tap cartridge (ceramic, 1/2 inch)")
    expect(row.get_by_label("Unit price (£)")).to_have_value("18.00")
    row.get_by_label("Quantity").fill("2")
    expect(option.locator('[data-fig="total"]')).to_have_text("£73.20")
    shots(bob, "price-book-builder")
    bob.get_by_role("button", name="Send quote").click()
    expect(bob.locator(".flash.success")).to_contain_text("Your quote is in")
    assert QuoteOption.objects.get(version__bid__job=job).total == Decimal("73.20")

    # Dora, who never reloaded, sees the quote arrive.
    card = customer.locator("#bids .bid", has_text="Bob's Boilers")
    expect(card.locator(".quote-version")).to_have_text("Version 1", timeout=LIVE)
    expect(card).to_contain_text("Replace tap cartridge", timeout=LIVE)
    expect(card).to_contain_text("£73.20")
    assert_not_reloaded(customer)
    shot(customer, "price-book-customer")
