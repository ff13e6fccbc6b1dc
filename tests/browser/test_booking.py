"""Booking a fixed-price service in a browser, on the real stack: the customer opens the tradesperson's public profile,
books "Boiler service" into a free time, pays the deposit with the simulated gateway's test card, and the tradesperson's
week calendar (open in another browser, never reloaded) shows the appointment live.

Screenshots go to test-artifacts/ui-booking-*.png for review (1280 px and 390 px).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from jobs.models import Job, Trade
from marketplace.accounts.models import User
from payments.models import Payment
from quotes.offerings import offering_save
from quotes.selectors import offering_slots
from scheduling.models import Appointment
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.browser.test_price import no_overflow
from tests.factories import pro
from tests.scheduling.helpers import worker_all_week

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: relay -> Kafka -> schedule-live consumer -> Redis -> websocket
LONDON = ZoneInfo("Europe/London")


def test_a_customer_books_a_fixed_price_service_and_the_pro_s_calendar_shows_it_live(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price", time_zone="Europe/London")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    worker_all_week(bob)
    offering = offering_save(
        pro=bob, trade=plumbing, title="Boiler service", description="Annual service and safety check", price=Decimal("85.00"),
        duration_minutes=60,
    )  # fmt: skip
    start = offering_slots(offering=offering)[0]  # UTC, as the radio's value
    first = start.astimezone(LONDON)
    monday = (first.date() - timedelta(days=first.weekday())).isoformat()
    base = stack.base_url

    # Bob watches his week calendar; he never reloads it.
    calendar = new_page()
    log_in(calendar, base, "bob")
    calendar.goto(f"{base}/calendar/?week={monday}")
    wait_live(calendar, f"calendar.{bob.pk}")
    mark(calendar)
    expect(calendar.locator("[data-testid=calendar-appointment]")).to_have_count(0)

    # Dora finds the service on Bob's profile and opens its booking page; both read well on a phone too.
    page = new_page()
    log_in(page, base, "dora")
    for size, name in ((PHONE, "390"), ({"width": 1280, "height": 900}, "1280")):
        page.set_viewport_size(size)
        page.goto(f"{base}/pros/{bob.pk}/")
        expect(page.locator("#pro-offerings")).to_contain_text("Boiler service")
        expect(page.locator("#request-quote")).to_be_visible()
        no_overflow(page)
        shot(page, f"booking-profile-{name}")
        page.locator(f"[data-testid=book-{offering.pk}]").click()
        expect(page.locator("h1")).to_have_text("Book: Boiler service")
        no_overflow(page)
        shot(page, f"booking-page-{name}")

    page.locator(f'input[name=starts_at][value="{start.isoformat()}"]').check()
    page.locator("#id_place").fill("Islington N1")
    page.locator("#id_card_token").select_option("tok_visa")
    page.locator("#book-submit").click()

    # Her job page: booked, the deposit held (the same panel as an accepted quote).
    expect(page.locator("#job-status")).to_have_text("Scheduled", timeout=LIVE)
    job = Job.objects.get(customer__username="dora")
    assert job.status == Job.Status.SCHEDULED
    assert Payment.objects.get(job=job).status == Payment.Status.DEPOSIT_HELD
    assert Appointment.objects.get(job=job).starts_at == first
    expect(page.locator("#payment-status")).to_have_text("Deposit held", timeout=LIVE)
    expect(page.locator("#appointment [data-testid=appointment-time]")).to_be_visible(timeout=LIVE)
    shot(page, "booking-job-1280")

    # Bob's calendar, never reloaded, shows it.
    block = calendar.locator("[data-testid=calendar-appointment]")
    expect(block).to_have_count(1, timeout=LIVE)
    expect(block).to_contain_text("Boiler service")
    expect(block).to_contain_text(f"{first:%H:%M}–{first + timedelta(hours=1):%H:%M}")
    assert_not_reloaded(calendar)
    shot(calendar, "booking-calendar")
