"""The marketplace through a browser: people in separate browser contexts see each other's actions live.

Every page built for people is screenshotted into test-artifacts/ui-*.png for review.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from PIL import Image
from playwright.sync_api import Page, ViewportSize, expect

from jobs import services
from jobs.models import Bid, Job, Lead, Trade
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.factories import post_job
from tests.support import ARTIFACTS, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE_TIMEOUT = 20_000  # ms: relay -> Kafka -> consumer -> Redis -> websocket, with consumer groups joining at start-up
PHONE: ViewportSize = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def wait_live(page: Page, *streams: str) -> None:
    """The socket is open and the server has acknowledged each stream (so no push can be missed from now on)."""
    expect(page.locator("#live-status")).to_have_text("live")
    for stream in streams:
        page.wait_for_function("s => (document.body.dataset.liveStreams || '').split(' ').includes(s)", arg=stream)


def mark(page: Page) -> None:
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1


def photo(name: str, colour: tuple[int, int, int]) -> dict[str, object]:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, format="JPEG")
    return {"name": name, "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def people() -> tuple[Trade, User, User]:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    Trade.objects.create(slug="electrical", name="Electrical")
    customer = User.objects.create_user("carol", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Carol Jones")
    pro = User.objects.create_user("pete", password="pw-123456-x", role=User.Role.TRADESPERSON, display_name="Pete Walsh")
    services.pro_profile_save(
        user=pro,
        business_name="Pete's Pipes",
        trades=[plumbing],
        base_latitude=Decimal("51.5362"),
        base_longitude=Decimal("-0.1033"),
        base_place="Islington N1",
        service_radius_km=15,
        bio="Gas Safe registered plumber, 12 years in north London.",
        # VAT registered: his quotes carry 20 % VAT, so the customer's price is net + VAT.
        invoicing=services.InvoiceDetails(
            legal_name="Pete's Pipes Ltd", business_address="1 Upper Street\nLondon N1 0AA", vat_registered=True, vat_number="GB123456789"
        ),
    )
    return plumbing, customer, pro


def send_quote(page: Page, price: str, message: str = "", button: str = "Send quote") -> None:
    """A one-line quote in the builder: one labour line at ``price`` (net, before VAT)."""
    row = page.locator("#quote-builder .quote-option").first.locator(".line-row").first
    row.get_by_label("Description").fill("Job as described")
    row.get_by_label("Quantity").fill("1")
    row.get_by_label("Unit price (£)").fill(price)
    if message:
        page.locator("#quote-builder").get_by_label("Message to the customer").fill(message)
    page.get_by_role("button", name=button).click()


def unread(page: Page) -> int:
    return int(page.locator("#notif-count").get_attribute("data-count") or 0)


def test_a_posted_job_reaches_a_matching_pro_live_and_their_bid_reaches_the_customer_live(stack, new_page) -> None:
    """The issue's acceptance test."""
    _, _, pro = people()
    base = stack.base_url

    trader = new_page()
    log_in(trader, base, "pete")
    shot(trader, "home-tradesperson")
    trader.locator("nav").get_by_role("link", name="Leads").click()
    trader.wait_for_url(f"{base}/leads/")
    wait_live(trader, f"user.{pro.pk}")
    mark(trader)
    shot(trader, "leads-empty")

    customer = new_page()
    log_in(customer, base, "carol")
    shot(customer, "home-customer")
    customer.locator("nav").get_by_role("link", name="Post a job").click()
    customer.wait_for_url(f"{base}/jobs/new/")
    shot(customer, "job-new")
    customer.get_by_role("button", name="Post job").click()  # empty: errors next to the fields, nothing posted
    expect(customer.locator("#id_title_error")).to_have_text("This field is required.")
    expect(customer.locator("#id_place_error")).to_contain_text("Choose where the job is")
    shot(customer, "job-new-errors")
    assert not Job.objects.exists()

    customer.get_by_label("Trade").select_option(label="Plumbing")
    customer.get_by_label("Title").fill("Leaking kitchen tap")
    customer.get_by_label("Describe the job").fill("The mixer tap drips constantly.\nProbably the cartridge; parts can be bought locally.")
    customer.get_by_label("It's an emergency").check()
    customer.get_by_label("Place or postcode district").fill("Highbury N5")
    customer.get_by_label("Budget from (£)").fill("60")
    customer.get_by_label("Budget up to (£)").fill("150")
    customer.get_by_label("Preferred from").fill("2031-07-01T09:00")
    customer.get_by_label("Preferred until").fill("2031-07-01T17:30")
    customer.get_by_label("Photos").set_input_files([photo("tap.jpg", (120, 140, 160)), photo("sink.jpg", (200, 180, 150))])
    customer.get_by_role("button", name="Post job").dblclick()  # a double click still posts one job
    customer.wait_for_url(re.compile(rf"{base}/jobs/\d+/$"))
    job = Job.objects.get()
    assert (job.place, job.is_emergency, job.photos.count()) == ("Highbury N5", True, 2)
    assert job.window_start is not None and job.window_start.isoformat() == "2031-07-01T08:00:00+00:00"  # 09:00 BST, stored in UTC
    expect(customer.locator(".flash.success")).to_contain_text("Your job is posted")
    wait_live(customer, f"job.{job.pk}")
    mark(customer)

    # The tradesperson, who never reloaded, sees the lead arrive at the top, highlighted.
    lead = trader.locator("#leads .lead").first
    expect(lead).to_contain_text("Leaking kitchen tap", timeout=LIVE_TIMEOUT)
    expect(lead).to_have_class(re.compile(r"\bfresh\b"))
    expect(lead).to_contain_text("Highbury N5")
    expect(lead).to_contain_text("Emergency")
    expect(lead).to_contain_text("£60–£150")
    assert_not_reloaded(trader)
    shot(trader, "leads-live")

    lead.get_by_role("link", name="Leaking kitchen tap").click()
    trader.wait_for_url(f"{base}/leads/{job.pk}/")
    expect(trader.locator(".photos img")).to_have_count(2)
    shot(trader, "lead-detail")
    send_quote(trader, "135", "I can replace the cartridge the same day; parts included.")
    expect(trader.locator("#my-bid-amount")).to_have_text("£162.00", timeout=LIVE_TIMEOUT)  # 135 net + 20 % VAT: what the customer pays
    shot(trader, "lead-detail-bid")

    # The customer, who never reloaded either, sees the bid appear.
    bid = customer.locator("#bids .bid", has_text="Pete's Pipes")
    expect(bid).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(bid.locator(".bid-amount")).to_have_text("£162.00")
    expect(bid).to_contain_text("parts included")
    expect(bid.locator(".quote-version")).to_have_text("Version 1")
    expect(customer.locator("#bid-count")).to_have_text("1")
    expect(customer.locator("#no-bids")).to_be_hidden()
    assert_not_reloaded(customer)
    shot(customer, "job-detail")

    customer.goto(f"{base}/jobs/")
    expect(customer.locator("#my-jobs")).to_contain_text("1 bid")
    shot(customer, "job-list")
    customer.goto(f"{base}/jobs/{job.pk}/edit/")
    expect(customer.get_by_label("Preferred from")).to_have_value("2031-07-01T09:00")  # shown back in the user's zone
    shot(customer, "job-edit")

    # The customer accepts; the tradesperson, still on the lead, learns they won without reloading.
    wait_live(trader, f"jobfeed.{job.pk}", f"user.{pro.pk}")
    mark(trader)
    customer.goto(f"{base}/jobs/{job.pk}/")
    customer.on("dialog", lambda dialog: dialog.accept())
    card = customer.locator("#bids .bid", has_text="Pete's Pipes")
    card.get_by_text("Accept Standard").click()
    card.get_by_label("Test card").select_option("tok_visa")
    card.get_by_role("button", name="Accept and pay £32.40 deposit").click()  # 135 + 20 % VAT = 162; 20 % deposit
    expect(customer.locator("#accepted-banner")).to_contain_text("Accepted — £32.40 deposit held")
    expect(customer.locator("#job-status")).to_have_text("Awarded")
    shot(customer, "job-detail-awarded")
    expect(trader.locator("#live-banner")).to_contain_text("You won this job!", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#job-status")).to_have_text("Awarded")
    assert_not_reloaded(trader)
    shot(trader, "lead-detail-won")


def test_revision_shortlist_and_decline_reach_the_other_side_live_with_the_bell(stack, new_page) -> None:
    _, customer_user, pro = people()
    base = stack.base_url
    job = post_job(
        customer_user, title="Replace bathroom radiator", latitude=Decimal("51.55"), longitude=Decimal("-0.10"), place="Highbury N5"
    )
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=pro).exists(), timeout=30, message="matching to offer the lead")

    customer = new_page()
    customer.on("dialog", lambda dialog: dialog.accept())
    log_in(customer, base, "carol")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}", f"user.{customer_user.pk}")
    mark(customer)
    expect(customer.locator("#no-bids")).to_be_visible()
    assert unread(customer) == 0

    trader = new_page()
    log_in(trader, base, "pete")
    trader.goto(f"{base}/leads/{job.pk}/")
    send_quote(trader, "240")
    expect(trader.locator("#my-bid-amount")).to_have_text("£288.00", timeout=LIVE_TIMEOUT)  # 240 net + 20 % VAT

    bid = customer.locator("#bids .bid", has_text="Pete's Pipes")
    expect(bid.locator(".bid-amount")).to_have_text("£288.00", timeout=LIVE_TIMEOUT)
    expect(bid.locator(".vat-note")).to_have_text("incl. £48.00 VAT")
    expect(customer.locator("#notif-count")).to_have_text("1", timeout=LIVE_TIMEOUT)  # "New bid on …", live
    expect(customer.locator(".toast")).to_have_count(0)  # no toast for what the page already shows

    # The tradesperson revises: the customer sees the new price, marked revised, with the old one struck through.
    wait_live(trader, f"jobfeed.{job.pk}", f"user.{pro.pk}")
    mark(trader)
    trader_unread = unread(trader)
    trader.get_by_text("Revise your quote").click()
    send_quote(trader, "210", button="Send revised quote")
    expect(trader.locator("#my-bid-amount")).to_have_text("£252.00", timeout=LIVE_TIMEOUT)
    wait_live(trader, f"jobfeed.{job.pk}", f"user.{pro.pk}")
    mark(trader)
    expect(bid.locator(".bid-amount")).to_have_text("£252.00", timeout=LIVE_TIMEOUT)
    expect(bid.locator(".revised")).to_be_visible()
    expect(bid.locator(".was")).to_have_text("£288.00")
    assert_not_reloaded(customer)
    shot(customer, "job-detail-revised")

    # The customer shortlists (their own page reloads: it's their form); the tradesperson hears it live.
    bid.get_by_role("button", name="Shortlist").click()
    expect(customer.locator(".flash.success")).to_contain_text("is on your shortlist")
    bid = customer.locator("#bids .bid", has_text="Pete's Pipes")
    expect(bid.locator(".bid-status")).to_have_text("Shortlisted")
    expect(trader.locator("#live-banner")).to_contain_text("shortlisted your bid", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#my-bid-status")).to_have_text("Shortlisted")
    expect(trader.locator("#notif-count")).to_have_text(str(trader_unread + 1), timeout=LIVE_TIMEOUT)
    assert_not_reloaded(trader)
    shot(trader, "lead-detail-shortlisted")

    # Then declines: greyed out for the customer, a banner and one more unread for the tradesperson.
    wait_live(customer, f"job.{job.pk}")
    bid.get_by_role("button", name="Decline").click()
    expect(customer.locator(".flash.success")).to_contain_text("You declined")
    expect(customer.locator("#bids .bid").first).to_have_attribute("data-status", "declined")
    expect(trader.locator("#live-banner")).to_contain_text("Your quote was not chosen", timeout=LIVE_TIMEOUT)
    expect(trader.locator("#my-bid-status")).to_have_text("Declined")
    expect(trader.locator("#notif-count")).to_have_text(str(trader_unread + 2), timeout=LIVE_TIMEOUT)
    expect(trader.get_by_role("button", name="Withdraw bid")).to_be_hidden()  # a declined bid can't be changed
    assert_not_reloaded(trader)
    assert Bid.objects.get().status == Bid.Status.DECLINED
    shot(customer, "job-detail-declined")
    shot(trader, "lead-detail-declined")

    trader.locator(".bell").click()
    trader.wait_for_url(f"{base}/notifications/")
    expect(trader.locator("#notifications .notif.unread")).to_have_count(trader_unread + 2)
    shot(trader, "notifications")
    trader.get_by_role("button", name="Mark all read").click()
    expect(trader.locator("#notifications .notif.unread")).to_have_count(0)
    expect(trader.locator("#notif-count")).to_have_attribute("data-count", "0")


def test_signing_up_as_a_tradesperson_and_completing_the_profile(stack, new_page) -> None:
    Trade.objects.create(slug="plumbing", name="Plumbing")
    Trade.objects.create(slug="hvac", name="Heating & HVAC")
    customer = User.objects.create_user("carol", password="pw-123456-x", role=User.Role.CUSTOMER)
    base = stack.base_url

    page = new_page()
    page.goto(f"{base}/")
    shot(page, "home-anonymous")
    page.get_by_role("link", name="Sign up").click()
    page.wait_for_url(f"{base}/signup/")
    page.get_by_label("A tradesperson looking for work").check()
    page.get_by_label("Your name").fill("Nadia Heating")
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Email").fill("nadia@example.com")
    page.get_by_label("Password").fill("123")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#id_password_error")).to_contain_text("too short")
    shot(page, "signup-errors")
    page.get_by_label("Password").fill("warm-radiators-2031")
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url(f"{base}/profile/")
    expect(page.get_by_role("heading", name="Finish your business profile")).to_be_visible()
    expect(page.get_by_label("Business name")).to_have_value("Nadia Heating")
    user = User.objects.get(username="nadia")
    assert user.is_tradesperson and user.time_zone  # the browser's zone (Intl), or the default
    page.get_by_label("Business name").fill("Nadia's Heating Ltd")
    page.get_by_label("Plumbing").check()
    page.get_by_label("Heating & HVAC").check()
    page.get_by_label("About your business").fill("Boilers, radiators and underfloor heating. Gas Safe 123456.")
    page.get_by_label("Base (place or postcode district)").fill("Nowhere Special")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator("#id_place_error")).to_contain_text("We don't know")
    page.get_by_label("Base (place or postcode district)").fill("Islington N1")
    page.get_by_label("Service radius (km)").fill("12")
    shot(page, "profile-new")
    page.get_by_role("button", name="Save profile").click()

    page.wait_for_url(f"{base}/leads/")
    expect(page.locator(".flash.success")).to_contain_text("Profile saved")
    profile = user.pro_profile
    assert (profile.business_name, profile.base_place, profile.service_radius_km) == ("Nadia's Heating Ltd", "Islington N1", 12)
    assert set(profile.trades.values_list("slug", flat=True)) == {"plumbing", "hvac"}

    # Completing the profile is what turns leads on: a job nearby now arrives live.
    wait_live(page, f"user.{user.pk}")
    mark(page)
    post_job(customer, title="Radiator cold at the top", latitude=Decimal("51.55"), longitude=Decimal("-0.10"), place="Highbury N5")
    expect(page.locator("#leads .lead").first).to_contain_text("Radiator cold at the top", timeout=LIVE_TIMEOUT)
    expect(page.locator("#notif-count")).to_have_text("1", timeout=LIVE_TIMEOUT)
    assert_not_reloaded(page)

    page.goto(f"{base}/profile/")
    expect(page.get_by_role("heading", name="Your business profile")).to_be_visible()
    expect(page.get_by_label("Plumbing")).to_be_checked()
    shot(page, "profile")
    page.get_by_role("link", name="View public page").click()
    page.wait_for_url(f"{base}/pros/{user.pk}/")
    expect(page.get_by_role("heading", name="Nadia's Heating Ltd")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Based in Islington N1")
    expect(page.locator("main")).not_to_contain_text("51.53")
    shot(page, "pro-public")

    page.get_by_role("button", name="Log out").click()
    page.goto(f"{base}/accounts/login/")
    shot(page, "login")


def test_the_board_shows_new_jobs_live_and_works_on_a_phone(stack, new_page) -> None:
    _, customer_user, pro = people()
    base = stack.base_url
    post_job(customer_user, title="Fit an outside tap", latitude=Decimal("51.545"), longitude=Decimal("-0.105"), place="Islington N1")

    page = new_page()
    log_in(page, base, "pete")
    page.locator("nav").get_by_role("link", name="Jobs board").click()
    page.wait_for_url(f"{base}/board/")
    expect(page.locator("#board")).to_contain_text("Fit an outside tap", timeout=LIVE_TIMEOUT)  # the read model may lag a moment
    wait_live(page, "board.all")
    mark(page)

    job = post_job(
        customer_user,
        title="Burst pipe under the sink",
        latitude=Decimal("51.55"),
        longitude=Decimal("-0.10"),
        place="Highbury N5",
        is_emergency=True,
    )
    first = page.locator("#board .board-job").first
    expect(first).to_contain_text("Burst pipe under the sink", timeout=LIVE_TIMEOUT)
    expect(first).to_contain_text("Emergency")
    expect(first).to_contain_text("km away")
    assert_not_reloaded(page)
    expect(first.get_by_role("link", name="Open lead")).to_be_visible(timeout=LIVE_TIMEOUT)  # matching offered it to Pete, live
    shot(page, "board")

    page.get_by_label("Search").fill("burst")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#board .board-job")).to_have_count(1)
    expect(page.locator("#board-note")).to_contain_text("New jobs appear live when no filter is set")
    shot(page, "board-search")

    # Tradespeople use phones: the same pages at 390 px wide.
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=pro).exists(), timeout=30, message="the lead")
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/leads/")
    expect(page.locator("#leads .lead")).to_have_count(2)
    shot(page, "mobile-leads")
    page.goto(f"{base}/leads/{job.pk}/")
    expect(page.get_by_role("button", name="Send quote")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing sticks out sideways
    shot(page, "mobile-lead-detail")
    page.goto(f"{base}/board/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "mobile-board")

    phone_customer = new_page()
    phone_customer.set_viewport_size(PHONE)
    log_in(phone_customer, base, "carol")
    phone_customer.goto(f"{base}/jobs/new/")
    assert phone_customer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone_customer, "mobile-job-new")
    phone_customer.goto(f"{base}/jobs/{job.pk}/")
    shot(phone_customer, "mobile-job-detail")
