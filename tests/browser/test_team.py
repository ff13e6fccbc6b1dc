"""The owner of a business invites a technician from the team page; the technician opens the emailed link, chooses a
password, and sees "My day" with the appointment the business booked for them; its visit page holds the job's chat,
where she messages the customer.  The stack's Daphne prints mail to its
log (the console backend), as in test_accounts.

Screenshots go to test-artifacts/ui-team-*.png for review (1280 and 390 px wide).
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect

from chat.models import Message
from scheduling import services as scheduling
from scheduling.models import Worker
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import shot
from tests.browser.test_scheduling import awarded, london, people, target_day
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK = re.compile(r"https?://\S+?(/team/join/[\w-]+/)")


def test_the_owner_invites_a_technician_who_logs_in_and_sees_their_day(stack, new_page) -> None:
    base = stack.base_url
    plumbing, customer, bob = people()
    job = awarded(customer, bob, plumbing, "Fix the boiler")
    daphne = next(p for p in stack.processes if p.name.startswith("daphne"))

    owner = new_page()
    owner.set_viewport_size({"width": 1280, "height": 900})
    log_in(owner, base, "bob")
    owner.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    owner.get_by_label("Name", exact=True).fill("Tina Tech")
    owner.get_by_label("Email").fill("tina@example.net")
    owner.get_by_label("Role").select_option("technician")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.locator("main")).to_contain_text("Invitation sent to tina@example.net")
    expect(owner.locator("[data-testid=invitation]")).to_contain_text("Tina Tech")
    shot(owner, "team-owner-invited-1280")

    link = wait_until(lambda: (m := LINK.search(daphne.log())) and m.group(1), timeout=20, message="the invitation email")
    tina = new_page()
    tina.set_viewport_size({"width": 390, "height": 844})
    tina.goto(f"{base}{link}")
    expect(tina.locator("h1")).to_have_text("Join Bob's Boilers")
    tina.get_by_label("Choose a password").fill("a-brand-new-phrase-7")
    tina.get_by_label("Type it again").fill("a-brand-new-phrase-7")
    tina.get_by_role("button", name="Join the team").click()
    tina.wait_for_url(f"{base}/my-day/")
    nav = tina.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="My day")).to_be_visible()
    expect(nav.get_by_role("link", name="Leads")).to_have_count(0)
    expect(nav.get_by_role("link", name="Payouts")).to_have_count(0)

    # The business books her on the job (as the dispatch board would); her day shows it with its visit.
    worker = Worker.objects.get(user__email="tina@example.net", owner=bob)
    scheduling.worker_set_hours(worker=worker, actor=bob, hours=[(d, time(8), time(18)) for d in range(7)])
    scheduling.appointment_book(job=job, worker=worker, starts_at=london(target_day(), 10), duration_minutes=90, actor=bob)
    tina.reload()
    appointment = tina.locator("[data-testid=my-appointment]")
    expect(appointment).to_have_count(1)
    expect(appointment).to_contain_text("10:00–11:30 · Fix the boiler")
    expect(appointment.get_by_role("link", name="Open visit")).to_have_attribute("href", f"/visits/{job.pk}/")
    shot(tina, "team-my-day-390")
    tina.set_viewport_size({"width": 1280, "height": 900})
    shot(tina, "team-my-day-1280")

    # Her visit page holds the job's chat with the customer; she writes on the business's side.
    appointment.get_by_role("link", name="Open visit").click()
    tina.wait_for_url(f"{base}/visits/{job.pk}/")
    chat = tina.locator("[data-testid=chat]")
    expect(chat.locator("[data-testid=chat-pane]")).to_be_visible()
    chat.locator("[data-testid=chat-input]").fill("On my way, parking now")
    chat.locator("[data-testid=chat-send]").click()
    expect(chat.locator("[data-testid=chat-log]")).to_contain_text("On my way, parking now")
    sent = Message.objects.get(thread__job=job, sender__email="tina@example.net")  # shown once the API stored it
    assert sent.thread.tradesperson_id == bob.pk
    shot(tina, "team-visit-chat-1280")
    tina.set_viewport_size({"width": 390, "height": 844})
    shot(tina, "team-visit-chat-390")

    owner.reload()  # she is a member now: her role and deactivation are the owner's to change
    expect(owner.locator("[data-testid=invitation]")).to_have_count(0)
    expect(owner.locator("[data-testid=member]").filter(has_text="Tina Tech")).to_contain_text("Technician")
    shot(owner, "team-owner-members-1280")
    owner.set_viewport_size({"width": 390, "height": 844})
    shot(owner, "team-owner-members-390")
