"""Replies to a reminder by text, through a browser on the real stack: Dora's job page is open when she texts "C"
(a signed request from the SIMULATED SMS provider, over HTTP to the live server): the page shows "Confirmed by SMS"
without a reload.  Then she texts "R" and Bob's dispatch board, open and never reloaded, shows that she asked for
another time.

Screenshots go to test-artifacts/ui-sms-*.png for review (1200 px and 390 px).
"""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from playwright.sync_api import ViewportSize, expect

from marketplace.notifications.inbound import SIGNATURE_HEADER, simulated_request
from marketplace.notifications.services import preferences_update
from scheduling import services as scheduling
from scheduling.models import Worker
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.browser.test_scheduling import LIVE, london, monday_of, setup, target_day

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MOBILE = "+447700900321"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def text_in(base: str, body: str) -> None:
    """What the SMS provider does when Dora replies: a signed POST to the webhook."""
    payload, signature = simulated_request(from_number=MOBILE, body=body)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
    request = urllib.request.Request(f"{base}/webhooks/sms/simulated/", data=payload, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_a_reply_c_confirms_live_and_r_reaches_the_dispatch_board(stack, new_page) -> None:
    job, dora, bob = setup()
    base = stack.base_url
    day = target_day()
    preferences_update(user=dora, phone=MOBILE, important_email=True, important_sms=True, updates_email=True, updates_sms=False)
    start = london(day, 9)
    scheduling.appointment_book(job=job, worker=Worker.objects.get(owner=bob), starts_at=start, duration_minutes=60, actor=dora)
    assert scheduling.reminders_send(now=start - timedelta(hours=23)) == 1  # the 24 h reminder went out

    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}")
    mark(customer)
    section = customer.locator("#appointment")
    expect(section.locator("[data-testid=appointment-unconfirmed]")).to_be_visible()

    text_in(base, "C")
    expect(section.locator("[data-testid=appointment-confirmed]")).to_have_text("✓ Confirmed by SMS", timeout=LIVE)
    assert_not_reloaded(customer)
    customer.set_viewport_size(DESKTOP)
    shot(customer, "sms-job-confirmed")
    customer.set_viewport_size(PHONE)
    shot(customer, "sms-job-confirmed-phone")

    # Bob's dispatch board, open and never reloaded, shows Dora's "R" (and that it is no longer confirmed).
    board = new_page()
    log_in(board, base, "bob")
    board.goto(f"{base}/dispatch/?week={monday_of(day).isoformat()}")
    wait_live(board, f"calendar.{bob.pk}")
    mark(board)
    expect(board.locator("[data-testid=dispatch-confirmed-sms]")).to_be_visible()
    text_in(base, "R")
    expect(board.locator("[data-testid=dispatch-reschedule-requested]")).to_have_text("↻ Customer asked for another time", timeout=LIVE)
    expect(board.locator("[data-testid=dispatch-confirmed-sms]")).to_have_count(0)
    assert_not_reloaded(board)
    board.set_viewport_size(DESKTOP)
    expect(section.locator("[data-testid=appointment-reschedule-requested]")).to_have_text("You asked for another time", timeout=LIVE)
    shot(board, "sms-dispatch-requested")
    board.set_viewport_size(PHONE)
    shot(board, "sms-dispatch-requested-phone")
    shot(customer, "sms-job-requested-phone")
