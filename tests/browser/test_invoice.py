"""The invoice page in a browser, on a desktop and a phone: nothing cut off or wider than the screen.

Only pages and no live pushes, so it runs against pytest-django's live server (no broker or
consumers); screenshots go to test-artifacts/ui-invoice-*.png for people to look at.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from playwright.sync_api import Page, ViewportSize, expect

from jobs import services as job_services
from jobs.services import InvoiceDetails
from marketplace.accounts.models import User
from payments.services import payment_collect
from quotes.models import Invoice, PromoCode
from quotes.pricing import LineItem
from quotes.services import OptionInput
from tests.browser.conftest import log_in
from tests.factories import offer, post_job, pro
from tests.helpers import run_payments_executor
from tests.quotes.helpers import accept, quote, submit
from tests.support import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

D = Decimal
SIZES: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _paid_invoice() -> Invoice:
    PromoCode.objects.create(code="WELCOME10", kind="fixed", value=D("10.00"))
    customer = User.objects.create_user(
        "carolinv", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Carol Jones", email="carol@example.com"
    )
    pete = pro(
        "peteinv",
        business_name="Pete's Plumbing",
        invoicing=InvoiceDetails(
            legal_name="Pete Walsh Plumbing & Heating Ltd",
            business_address="Unit 4, Canonbury Yard\n190a New North Road\nLondon N1 7BJ",
            vat_registered=True,
            vat_number="GB123456789",
        ),
    )
    job = post_job(customer, title="Replace the kitchen mixer tap and fix the leak under the sink", place="Islington N1")
    offer(job, pete)
    q = quote(
        OptionInput(
            lines=[
                LineItem("labour", "Labour: remove the old mixer, fit the new one, test for leaks", D("2.5"), D("48.00")),
                LineItem("materials", "Monobloc mixer tap (chrome) with flexible tails", D(1), D("89.99")),
                LineItem("materials", "Compression fittings and PTFE tape", D(1), D("12.50")),
                LineItem("callout", "Call-out", D(1), D("25.00")),
                LineItem("discount", "Returning customer", D(1), D("10.00")),
            ]
        )
    )
    accept(submit(job, pete, q), customer, promo_code="WELCOME10")
    job_services.job_start_work(job=job, actor=pete)
    job_services.job_complete(job=job, actor=pete)
    with transaction.atomic():  # as the payments consumer records it once the work is approved
        payment_collect(job_id=job.pk)
    run_payments_executor()  # the executor charges; the paid payment gets its invoice
    return Invoice.objects.get(job=job)


def test_the_invoice_page_fits_a_desktop_and_a_phone(live_server, transactional_db, new_page) -> None:
    invoice = _paid_invoice()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        page: Page = new_page()
        page.set_viewport_size(size)
        log_in(page, live_server.url, "carolinv")
        page.goto(f"{live_server.url}/jobs/{invoice.job_id}/invoice/")
        expect(page.locator("#invoice-title")).to_contain_text(invoice.number)
        expect(page.locator("[data-field=vat_number]")).to_have_text("VAT number GB123456789")
        expect(page.locator("#invoice-pdf")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"ui-invoice-{name}.png"), full_page=True)
        # Nothing wider than the screen: the document does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        # ...and every line's amount is on screen (not hidden in a sideways-scrolling table).
        for cell in page.locator(".invoice-lines tbody td:last-child").all():
            box = cell.bounding_box()
            assert box is not None and box["x"] + box["width"] <= size["width"]
        download = page.request.get(f"{live_server.url}/jobs/{invoice.job_id}/invoice.pdf")
        assert download.ok and download.body().startswith(b"%PDF")


def test_the_invoices_and_vat_section_of_the_profile_fits(live_server, transactional_db, new_page) -> None:
    pro("vatpro", business_name="Vat Pro Plumbing", invoicing=InvoiceDetails(vat_registered=False))
    vatpro = User.objects.get(username="vatpro")
    vatpro.set_password("pw-123456-x")
    vatpro.save(update_fields=["password"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        page: Page = new_page()
        page.set_viewport_size(size)
        log_in(page, live_server.url, "vatpro")
        page.goto(f"{live_server.url}/profile/")
        page.get_by_label("My business is VAT registered").check()
        page.get_by_label("VAT number").fill("GB 12")
        page.get_by_role("button", name="Save profile").click()
        expect(page.locator("#id_vat_number_error, .errorlist").first).to_contain_text("GB followed by 9 digits")
        page.screenshot(path=str(ARTIFACTS / f"ui-profile-vat-{name}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
