"""The payout pages through a browser, on the real stack: Bob opens Payouts from his navigation, sees his
balance and history, and reads a statement with a refund recovered from it, at 1280 px and 390 px wide
(nothing wider than the screen). Screenshots go to test-artifacts/ui-payouts-*.png for review.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Trade
from marketplace.accounts.models import User
from payments import payouts
from payments.payout_provider import PayoutReport
from payments.services import payment_refund
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import shot
from tests.factories import pro
from tests.payments.test_payouts import done_job

pytestmark = [pytest.mark.browser, pytest.mark.slow]
D = Decimal


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than the screen"


def test_a_tradesperson_reads_a_payout_statement_on_desktop_and_phone(stack, new_page) -> None:
    base = stack.base_url
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, time_zone="UTC")
    staff = User.objects.create_user("boss", password="pw-123456-x", is_staff=True)
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    first = done_job(dora, bob)
    paid = payouts.payout_create_for(tradesperson_id=bob.pk, at_least=D("0.01"))
    assert paid is not None
    payouts.payout_record(payout_id=paid.pk, report=PayoutReport("sim_po_b1", "paid"))
    payment_refund(payment=first, actor=staff, amount=D("100.00"), reason="Redone", idempotency_key="browser")
    done_job(dora, bob)
    second = payouts.payout_create_for(tradesperson_id=bob.pk, at_least=D("0.01"))
    assert second is not None
    payouts.payout_record(payout_id=second.pk, report=PayoutReport("sim_po_b2", "in_transit"))

    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, base, "bob")
    page.get_by_role("link", name="Payouts").click()
    page.wait_for_url(f"{base}/payouts/")
    expect(page.get_by_test_id("on-the-way")).to_have_text("£67.83")
    expect(page.get_by_test_id("payout-status").first).to_have_text("On its way")
    fits(page)
    shot(page, "payouts-list-1280")

    page.get_by_role("link", name="Payout of £67.83").click()
    page.wait_for_url(f"{base}/payouts/{second.pk}/")
    expect(page.get_by_test_id("statement-total")).to_have_text("£67.83")
    expect(page.get_by_text("Refund recovered: Job #")).to_be_visible()
    expect(page.get_by_test_id("line-net")).to_have_text(["−£91.67", "£159.50"])
    fits(page)
    shot(page, "payouts-statement-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("statement-total")).to_be_visible()
    fits(page)
    shot(page, "payouts-statement-390")
    page.goto(f"{base}/payouts/")
    fits(page)
    shot(page, "payouts-list-390")
