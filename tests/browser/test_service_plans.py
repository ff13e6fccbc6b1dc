"""A service plan in a browser, on the real stack: the business offers a plan on a job it completed, the customer
accepts it on their job page, the clock (called from the test) books the next visit, and /plans/ shows that booking
and the next due date to both sides.

Screenshots go to test-artifacts/ui-plans-*.png for review (1280 px and 390 px).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs import services as job_services
from jobs.models import Trade
from marketplace.accounts.models import User
from quotes.agreements import agreements_book_due
from quotes.models import AgreementOccurrence, ServiceAgreement
from quotes.offerings import Where, offering_save, service_book
from quotes.selectors import offering_slots
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, shot
from tests.browser.test_price import no_overflow
from tests.factories import pro
from tests.scheduling.helpers import worker_all_week

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}


def test_a_business_offers_a_plan_the_customer_accepts_and_the_clock_books_the_next_visit(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user(
        "dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price", time_zone="Europe/London"
    )
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    worker_all_week(bob)
    offering = offering_save(pro=bob, trade=plumbing, title="Boiler service", description="", price=Decimal("85.00"), duration_minutes=60)
    job = service_book(
        offering=offering, customer=dora, starts_at=offering_slots(offering=offering)[0], card_token="tok_visa",
        where=Where(Decimal("51.53620"), Decimal("-0.10330"), "Islington N1"),
    )  # fmt: skip
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    base = stack.base_url

    # Bob offers a yearly plan from the completed job's page.
    business = new_page()
    log_in(business, base, "bob")
    business.set_viewport_size(PHONE)
    business.goto(f"{base}/leads/{job.pk}/")
    expect(business.locator("#plan-card")).to_contain_text("Offer the customer a plan")
    shot(business, "plans-offer-390")
    no_overflow(business)
    business.set_viewport_size(DESKTOP)
    business.locator("#plan-price").fill("90.00")
    business.locator("[data-testid=plan-offer]").click()
    expect(business.locator("#plan-status")).to_contain_text("waiting for the customer to accept")
    shot(business, "plans-offer-1280")

    # Dora sees the offer on her job page and accepts it, naming the card.
    customer = new_page()
    log_in(customer, base, "dora")
    for size, name in ((PHONE, "390"), (DESKTOP, "1280")):
        customer.set_viewport_size(size)
        customer.goto(f"{base}/jobs/{job.pk}/")
        expect(customer.locator("#plan-card")).to_contain_text("every year at £90.00")
        shot(customer, f"plans-consent-{name}")
        no_overflow(customer)
    customer.locator("#plan-card select[name=card_token]").select_option("tok_visa")
    customer.locator("[data-testid=plan-accept]").click()
    expect(customer.locator("#plan-status")).to_contain_text("Next visit due")
    plan = ServiceAgreement.objects.get()
    assert plan.status == ServiceAgreement.Status.ACTIVE

    # A year on (the due date brought forward instead of the clock moved on), the clock books the visit.
    ServiceAgreement.objects.filter(pk=plan.pk).update(next_due=timezone.localdate() + timedelta(days=7))
    assert agreements_book_due() == 1
    visit = AgreementOccurrence.objects.get()
    assert visit.status == AgreementOccurrence.Status.BOOKED and visit.job is not None

    # Both sides see the booked visit and the next due date on Service plans.
    for page, who in ((customer, "customer"), (business, "business")):
        for size, name in ((PHONE, "390"), (DESKTOP, "1280")):
            page.set_viewport_size(size)
            page.goto(f"{base}/plans/")
            row = page.locator(f"[data-plan-id='{plan.pk}']")
            expect(row.locator("[data-testid=plan-visit]")).to_contain_text("Booked")
            expect(row.locator("[data-testid=plan-next-due]")).to_contain_text(f"{visit.due_date.year + 1}")
            shot(page, f"plans-list-{who}-{name}")
            no_overflow(page)
    customer.locator("[data-testid=plan-visit]").click()
    expect(customer.locator("#job-status")).to_have_text("Scheduled")
