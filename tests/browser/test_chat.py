"""Job chat through a browser, on the real stack: the customer (job page) and a quoting tradesperson (lead page), in two
browser contexts, exchange messages; each sees the other's arrive live without reloading, with "Seen" receipts, masked
phone numbers and text shown as text.  A second bidder's message lights an unread badge on its tab.

Screenshots go to test-artifacts/ui-chat-*.png for review.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from chat import services as chat_services
from chat.models import Message, Thread
from jobs.models import Lead, Trade
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import submit
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: relay -> Kafka -> chat-live consumer -> Redis -> websocket


def test_customer_and_tradesperson_chat_live_both_ways_with_seen_receipts(stack, new_page) -> None:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    sam = pro("sam", trades=[plumbing], business_name="Sam Heating")
    job = post_job(dora, trade=plumbing, title="Dripping bathroom tap", latitude=Decimal("51.55"), longitude=Decimal("-0.10"))
    wait_until(lambda: Lead.objects.filter(job=job).count() == 2, timeout=30, message="matching to offer the job to bob and sam")
    submit(job, bob)
    submit(job, sam)
    base = stack.base_url

    # Dora's job page: one tab per tradesperson who quoted.
    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    chat = customer.locator("#chat")
    tabs = chat.locator("[data-testid=chat-tab]")
    expect(tabs).to_have_count(2)
    expect(tabs.nth(0)).to_contain_text("Bob's Boilers")
    expect(tabs.nth(1)).to_contain_text("Sam Heating")
    thread_bob = Thread.objects.get(job=job, tradesperson=bob)
    thread_sam = Thread.objects.get(job=job, tradesperson=sam)
    wait_live(customer, f"job.{job.pk}", f"chat.{thread_bob.pk}", f"chat.{thread_sam.pk}")
    mark(customer)

    # Bob's lead page: his own thread with Dora.
    lead = new_page()
    log_in(lead, base, "bob")
    lead.goto(f"{base}/leads/{job.pk}/")
    bob_chat = lead.locator("#chat")
    expect(bob_chat.locator("[data-testid=chat-form]")).to_be_visible()
    wait_live(lead, f"user.{bob.pk}", f"chat.{thread_bob.pk}")
    mark(lead)

    # Dora writes (with her phone number); both pages show it, masked, and Bob's page (open, visible) reads it.
    chat.locator("[data-testid=chat-input]").fill("Hi Bob, can you come Monday? Call me on 07700 900123")
    chat.locator("[data-testid=chat-send]").click()
    masked = "Hi Bob, can you come Monday? Call me on [contact details hidden]"
    expect(chat.locator("[data-testid=chat-message]")).to_have_count(1)
    expect(chat.locator(".chat-msg.mine .chat-text")).to_have_text(masked)
    expect(chat.locator("[data-testid=chat-input]")).to_have_value("")
    incoming = bob_chat.locator(".chat-msg.theirs .chat-text")
    expect(incoming).to_have_text(masked, timeout=LIVE)
    expect(bob_chat.locator(".chat-msg.theirs .chat-meta")).to_contain_text("Dora Price")
    expect(chat.locator("[data-testid=chat-receipt]")).to_have_text("Seen", timeout=LIVE)
    assert "07700" not in "".join(Message.objects.values_list("text", flat=True))

    # Bob answers with markup: Dora sees it live, as text.
    reply = "Monday 9am works. <b>Bring</b> <script>window.__pwned=1</script> the spare key"
    bob_chat.locator("[data-testid=chat-input]").fill(reply)
    bob_chat.locator("[data-testid=chat-input]").press("Enter")
    expect(bob_chat.locator(".chat-msg.mine .chat-text")).to_have_text(reply)
    expect(chat.locator(".chat-msg.theirs .chat-text")).to_have_text(reply, timeout=LIVE)
    assert customer.evaluate("window.__pwned") is None
    assert chat.locator(".chat-msg.theirs .chat-text b").count() == 0
    expect(bob_chat.locator("[data-testid=chat-receipt]")).to_have_text("Seen", timeout=LIVE)
    shot(customer, "chat-job")
    shot(lead, "chat-lead")

    # Sam writes while Dora is looking at Bob's thread: Sam's tab shows an unread badge, live; opening it clears it.
    chat_services.chat_send(thread=thread_sam, sender=sam, text="I could also do Tuesday, £20 cheaper.")
    sam_badge = tabs.nth(1).locator("[data-testid=chat-tab-unread]")
    expect(sam_badge).to_have_text("1", timeout=LIVE)
    expect(chat.locator("[data-testid=chat-unread-total]")).to_have_text("1")
    shot(customer, "chat-unread")
    tabs.nth(1).click()
    expect(chat.locator(".chat-msg.theirs .chat-text")).to_have_text("I could also do Tuesday, £20 cheaper.")
    expect(sam_badge).to_be_hidden()
    expect(chat.locator("[data-testid=chat-unread-total]")).to_be_hidden()
    wait_until(lambda: Thread.objects.get(pk=thread_sam.pk).customer_read_up_to > 0, message="Dora's read receipt for Sam")

    # Limits are explained, not silently applied.
    tabs.nth(0).click()
    chat.locator("[data-testid=chat-input]").fill("   ")
    chat.locator("[data-testid=chat-send]").click()
    expect(chat.locator("[data-testid=chat-error]")).to_have_text("Write a message first.")

    assert_not_reloaded(customer)
    assert_not_reloaded(lead)
    lead.set_viewport_size(PHONE)
    shot(lead, "chat-lead-phone")
