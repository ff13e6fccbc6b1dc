"""The job timeline and notification settings through a browser, on the real stack (Daphne, relay, every consumer).

The customer (in Paris) has her job page open and the tradesperson (in London) his lead page; neither reloads.
The history so far is on both; then the customer books an appointment and the tradesperson starts the work, and
each step appears live on both pages in the viewer's own words and time zone.  Then the customer turns on texts
in her notification settings and sees the channel badges in her notification centre.

Screenshots: test-artifacts/ui-timeline-*.png, ui-notification-*.png.
"""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from playwright.sync_api import expect

from jobs import services as job_services
from jobs.models import Job, Lead, Trade
from marketplace.accounts.models import User
from marketplace.notifications.models import NotificationPreferences
from marketplace.notifications.services import notify
from scheduling.services import appointment_book
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import accept, submit
from tests.scheduling.helpers import worker_all_week
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: relay -> Kafka -> timeline consumer -> Redis -> websocket
LONDON, PARIS = ZoneInfo("Europe/London"), ZoneInfo("Europe/Paris")


def test_the_timeline_grows_live_on_both_pages_in_each_viewers_zone(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user(
        "dora", "dora@example.com", "pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora", time_zone="Europe/Paris"
    )
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    worker = worker_all_week(bob, start=time(8), end=time(18), zone="Europe/London")
    job = post_job(dora, trade=plumbing, title="Dripping tap", latitude=Decimal("51.55"), longitude=Decimal("-0.10"), place="N5")
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob).exists(), timeout=30, message="matching to offer bob the job")
    accept(submit(job, bob), dora)
    base = stack.base_url

    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}")
    timeline = customer.locator("#timeline")
    expect(timeline.locator(".tl-entry").first).to_contain_text("You posted the job “Dripping tap”.", timeout=LIVE)
    expect(timeline).to_contain_text("You accepted Bob's Boilers’ bid", timeout=LIVE)
    mark(customer)

    lead = new_page()
    log_in(lead, base, "bob")
    lead.goto(f"{base}/leads/{job.pk}/")
    wait_live(lead, f"user.{bob.pk}")
    lead_timeline = lead.locator("#timeline")
    expect(lead_timeline).to_contain_text("The customer accepted your bid", timeout=LIVE)
    mark(lead)
    before_customer = timeline.locator(".tl-entry").count()
    before_lead = lead_timeline.locator(".tl-entry").count()

    # Dora books 10:00 London (11:00 for her in Paris) two days ahead; Bob starts the work.
    day = datetime.now(LONDON).date() + timedelta(days=2)
    start = datetime.combine(day, time(10), tzinfo=LONDON)
    appointment_book(job=Job.objects.get(pk=job.pk), worker=worker, starts_at=start, duration_minutes=60, actor=dora)
    when_paris = start.astimezone(PARIS).strftime("%a %d %b %Y, %H:%M") + " (Europe/Paris)"
    when_london = start.strftime("%a %d %b %Y, %H:%M") + " (Europe/London)"
    expect(timeline).to_contain_text(f"You booked the appointment for {when_paris}.", timeout=LIVE)
    expect(lead_timeline).to_contain_text(f"The customer booked the appointment for {when_london}.", timeout=LIVE)
    job_services.job_start_work(job=Job.objects.get(pk=job.pk), actor=bob)
    expect(timeline.locator(".tl-entry").last).to_contain_text("Work started.", timeout=LIVE)
    expect(lead_timeline.locator(".tl-entry").last).to_contain_text("Work started.", timeout=LIVE)
    assert timeline.locator(".tl-entry").count() > before_customer + 1
    assert lead_timeline.locator(".tl-entry").count() > before_lead + 1
    assert_not_reloaded(customer)
    assert_not_reloaded(lead)
    # In order: every entry's sequence is higher than the one before.
    for page in (customer, lead):
        seqs = page.eval_on_selector_all("#timeline .tl-entry", "els => els.map(e => Number(e.dataset.seq))")
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    timeline.scroll_into_view_if_needed()
    shot(customer, "timeline-customer")
    lead_timeline.scroll_into_view_if_needed()
    shot(lead, "timeline-tradesperson")

    # Dora asks for texts about everything, then sees the channels on her notification centre.
    customer.goto(f"{base}/notifications/settings/")
    customer.get_by_label("Mobile number").fill("+33 6 12 34 56 78")
    customer.locator("#id_updates_sms").check()
    shot(customer, "notification-settings")
    customer.locator("#save-settings").click()
    expect(customer.locator("body")).to_contain_text("Notification settings saved.")
    prefs = NotificationPreferences.objects.get(user=dora)
    assert prefs.phone == "+33612345678" and prefs.updates_sms and prefs.important_sms
    customer.goto(f"{base}/notifications/")
    wait_live(customer, f"user.{dora.pk}")
    mark(customer)
    first = customer.locator("#notifications .notif").first
    expect(first.locator('[data-channel="in_app"]')).to_be_visible()
    expect(first.locator('[data-channel="email"]')).to_be_visible()

    # A new notification arrives live, naming its channels (texts are on for updates now).
    # (From a thread: Playwright's event loop owns this one, and the push is sent with async_to_sync.)
    def tell() -> None:
        notify(
            recipient_id=dora.pk,
            kind="bid",
            title="New bid on “Dripping tap”",
            body="From the browser test.",
            url=f"/jobs/{job.pk}/",
            object_key="t1",
        )
        connection.close()

    sender = threading.Thread(target=tell)
    sender.start()
    sender.join(30)
    fresh = customer.locator("#notifications .notif").first
    expect(fresh).to_contain_text("New bid on “Dripping tap”", timeout=LIVE)
    expect(fresh.locator('[data-channel="sms"]')).to_have_text("SMS")
    expect(fresh.locator('[data-channel="email"]')).to_have_text("Email")
    assert_not_reloaded(customer)
    shot(customer, "notification-centre")
