"""Signing off the finished work through a browser, against the real stack (Daphne, relay, every consumer).

1. The customer accepts the quote and pays the deposit with the test card; the tradesperson marks the
   work completed; the customer's page, never reloaded, asks them to approve; they add a tip and
   approve; the balance plus the tip is charged, the tradesperson sees it live, and the customer
   opens the invoice (with the tip) and downloads its PDF.
2. The customer reports a problem instead; staff resolve it in admin with a partial refund; both
   pages show the outcome live.

In the dispute test the acceptance is made through the services (the accept form has its own
browser tests, tests/browser/test_quotes.py and test_price.py). Screenshots at 1280 and 390 px wide go to test-artifacts/ui-signoff-*.png.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from jobs import services as job_services
from jobs.models import Job, Lead, Trade
from marketplace.accounts.models import User
from marketplace.money import format_money
from payments.models import Dispute, Payment
from tests.browser.conftest import log_in, log_in_staff
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import accept, submit
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 15_000  # ms
D = Decimal


def shots(page: Page, name: str) -> None:
    """The page at a desktop and a phone width (then back to desktop); the sign-off panel fits the screen."""
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        panel = page.locator("#signoff-panel")
        if panel.is_visible():
            overflow = panel.evaluate(
                "el => Math.max(el.scrollWidth - el.clientWidth, ...[...el.querySelectorAll('*')].map("
                "c => c.getBoundingClientRect().right - document.documentElement.clientWidth))"
            )
            assert overflow <= 0, f"the sign-off panel in {name} at {width}px is {overflow}px wider than the screen"
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def posted_job(username: str) -> tuple[Job, User, User]:
    """A job offered to Bob as a lead."""
    plumbing = Trade.objects.get_or_create(slug="plumbing", defaults={"name": "Plumbing"})[0]
    customer = User.objects.create_user(username, password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price")
    bob = pro(f"bob{username}", trades=[plumbing], business_name="Bob's Boilers")
    job = post_job(customer, trade=plumbing, title="Dripping bathroom tap", latitude=D("51.55"), longitude=D("-0.10"), place="Highbury N5")
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob).exists(), timeout=30, message="matching to offer the job to bob")
    return job, customer, bob


def quoted_job(username: str) -> tuple[Job, User, User]:
    """A job Bob quoted for: next, the customer accepts it."""
    job, customer, bob = posted_job(username)
    submit(job, bob)
    return job, customer, bob


def started_job(username: str) -> tuple[Job, User, User]:
    """A job accepted (deposit held) and started: next, the tradesperson marks it completed."""
    job, customer, bob = posted_job(username)
    accept(submit(job, bob), customer)
    job_services.job_start_work(job=Job.objects.get(pk=job.pk), actor=bob)
    return job, customer, bob


def accept_in_the_browser(stack, new_page, job: Job, customer: User, bob: User) -> None:
    """The customer accepts the quote on the job page and pays the deposit with the test Visa; then the work starts."""
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, stack.base_url, customer.username)
    page.goto(f"{stack.base_url}/jobs/{job.pk}/")
    column = page.locator("#bids .bid .quote-col").first
    column.locator(".accept-panel summary").click()
    column.get_by_label("Test card").select_option("tok_visa")
    column.locator(".accept-button").click()
    expect(page.locator(".flash.success")).to_contain_text("Accepted")
    expect(page.locator("#payment-status")).to_have_text("Deposit held")
    page.close()
    job_services.job_start_work(job=Job.objects.get(pk=job.pk), actor=bob)


def pages(stack, new_page, job: Job, customer: User, bob: User) -> tuple[Page, Page]:
    base = stack.base_url
    dora = new_page()
    dora.set_viewport_size({"width": 1280, "height": 900})
    log_in(dora, base, customer.username)
    dora.goto(f"{base}/jobs/{job.pk}/")
    wait_live(dora, f"job.{job.pk}")
    mark(dora)
    expect(dora.locator("#signoff-panel")).to_be_hidden()  # nothing to sign off yet

    bobp = new_page()
    bobp.set_viewport_size({"width": 1280, "height": 900})
    bobp.on("dialog", lambda dialog: dialog.accept())
    log_in(bobp, base, bob.username)
    bobp.goto(f"{base}/leads/{job.pk}/")
    wait_live(bobp, f"user.{bob.pk}")
    bobp.get_by_role("button", name="Mark completed").click()
    expect(bobp.locator(".flash.success")).to_contain_text("asked the customer to approve the work")
    wait_live(bobp, f"user.{bob.pk}")
    expect(bobp.locator("#signoff-state")).to_contain_text("Waiting for the customer's approval", timeout=LIVE)
    return dora, bobp


def test_accept_complete_approve_with_a_tip_then_the_invoice_and_its_pdf(stack, new_page) -> None:
    job, customer, bob = quoted_job("dora")
    accept_in_the_browser(stack, new_page, job, customer, bob)
    dora, bobp = pages(stack, new_page, job, customer, bob)
    shots(bobp, "signoff-pro-waiting")

    # The customer, who never reloaded, is asked to approve; nothing was charged.
    panel = dora.locator("#signoff-panel")
    expect(panel).to_be_visible(timeout=LIVE)
    expect(panel.locator("#signoff-state")).to_contain_text("marked the work as done")
    expect(panel.get_by_role("button", name="Approve the work")).to_be_visible()
    # The payment panel and the banners agree with it: no "deposit held, the rest is taken when done" left over.
    expect(dora.locator("#payment-status")).to_have_text("Waiting for approval", timeout=LIVE)
    expect(dora.locator("#accepted-banner")).to_be_hidden()
    assert_not_reloaded(dora)
    payment = Payment.objects.get(job=job)
    assert payment.status == Payment.Status.AWAITING_APPROVAL and payment.captured == 0
    shots(dora, "signoff-customer-asked")

    # A tip too large is refused in words; then a £10 tip.
    panel.get_by_label("Add a tip").evaluate("el => el.removeAttribute('max')")
    panel.get_by_label("Add a tip").fill("999")
    panel.get_by_role("button", name="Approve the work").click()
    expect(dora.locator(".flash.error")).to_contain_text("The most you can tip on this job is £")
    dora.locator("#signoff-panel").get_by_label("Add a tip").fill("10")
    dora.locator("#signoff-panel").get_by_role("button", name="Approve the work").click()
    expect(dora.locator(".flash.success")).to_contain_text("you approved the work")
    expect(dora.locator("#signoff-state")).to_contain_text("Thank you for the £10.00 tip")
    total = payment.acceptance.total
    wait_until(lambda: Payment.objects.get(job=job).status == Payment.Status.PAID, timeout=30, message="the balance plus tip charged")
    paid = Payment.objects.get(job=job)
    assert paid.captured == total + D("10.00") and paid.payout_due == total - paid.platform_revenue + D("10.00")
    expect(dora.locator("#payment-status")).to_have_text("Paid", timeout=LIVE)
    shots(dora, "signoff-customer-approved")

    # The tradesperson hears it live, tip included.
    expect(bobp.locator("#signoff-state")).to_contain_text("added a £10.00 tip", timeout=LIVE)
    expect(bobp.locator("#payment-status")).to_have_text("Paid", timeout=LIVE)
    shots(bobp, "signoff-pro-approved")

    # The invoice is issued with the charge: the customer opens it from the payment panel, then its PDF.
    invoice_link = dora.locator("#invoice-link")
    expect(invoice_link).to_be_visible(timeout=LIVE)
    invoice_link.click()
    expect(dora.locator('[data-figure="total"]')).to_have_text(format_money(total))
    expect(dora.locator('[data-figure="tip"]')).to_have_text(format_money(D("10.00")))
    expect(dora.locator('[data-figure="amount_paid"]')).to_have_text(format_money(total + D("10.00")))
    shots(dora, "signoff-invoice")
    pdf = dora.request.get(stack.base_url + (dora.locator("#invoice-pdf").get_attribute("href") or ""))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")


def test_a_problem_is_resolved_by_staff_with_a_partial_refund(stack, new_page) -> None:
    job, customer, bob = started_job("erin")
    dora, bobp = pages(stack, new_page, job, customer, bob)
    panel = dora.locator("#signoff-panel")
    expect(panel).to_be_visible(timeout=LIVE)
    panel.get_by_text("Something wrong? Report a problem").click()
    panel.get_by_label("What's wrong?").fill("The tap still drips after the repair.")
    shots(dora, "signoff-customer-problem-form")
    panel.get_by_role("button", name="Report a problem").click()
    expect(dora.locator(".flash.success")).to_contain_text("Thanks for telling us")
    expect(dora.locator("#signoff-state")).to_contain_text("You reported a problem")
    expect(bobp.locator("#signoff-state")).to_contain_text("The customer reported a problem", timeout=LIVE)
    expect(bobp.locator("#dispute-description")).to_have_text("The tap still drips after the repair.")
    shots(bobp, "signoff-pro-disputed")
    dispute = Dispute.objects.get(job=job)
    wait_live(dora, f"job.{job.pk}")
    mark(dora)

    # Staff read the evidence and refund £20.
    User.objects.create_superuser("root", "root@example.com", "pw-123456-x")
    staff = new_page()
    staff.set_viewport_size({"width": 1280, "height": 900})
    log_in_staff(staff, stack.base_url, "root")
    staff.goto(f"{stack.base_url}/admin/payments/dispute/")
    staff.get_by_role("link", name=str(dispute.pk), exact=True).click()
    expect(staff.locator("#dispute-description")).to_have_text("The tap still drips after the repair.")
    expect(staff.locator("#evidence-timeline")).to_contain_text("reported a problem")
    staff.get_by_label("Refund part of the price").check()
    staff.get_by_label("Refund amount").fill("20.00")
    staff.get_by_label("Note").fill("A washer was missing; £20 off.")
    shot(staff, "signoff-admin-dispute")
    staff.locator("#resolve-submit").click()
    expect(staff.locator(".messagelist")).to_contain_text("Resolved: Refund part of the price")

    # Both pages show the outcome live; £20 less is charged.
    expect(dora.locator("#signoff-state")).to_contain_text("£20.00 comes off the price", timeout=LIVE)
    expect(dora.locator("#dispute-note")).to_contain_text("A washer was missing")
    assert_not_reloaded(dora)
    expect(bobp.locator("#signoff-state")).to_contain_text("£20.00 comes off the price", timeout=LIVE)
    wait_until(
        lambda: Payment.objects.get(job=job).status == Payment.Status.PARTIALLY_REFUNDED, timeout=30, message="the reduced price charged"
    )
    paid = Payment.objects.get(job=job)
    assert paid.captured == paid.acceptance.total - D("20.00")
    shots(dora, "signoff-customer-resolved")
    shots(bobp, "signoff-pro-resolved")
