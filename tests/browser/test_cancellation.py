"""The cancel confirmation on the job page states what cancelling costs now, until when it is free, and the rules.

Screenshots at 1280 and 390 px wide go to test-artifacts/ui-cancel-*.png for review.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, ViewportSize, expect

from jobs.models import Job
from tests.scheduling.test_job_cancel import booked_soon
from tests.support import ARTIFACTS

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def test_the_cancel_card_states_the_cost_and_the_rules_before_the_customer_acts(stack, new_page, customer) -> None:
    job, _ = booked_soon(customer, "browserbob", 8)
    page: Page = new_page()
    log_in(page, stack.base_url, customer.username)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto(f"{stack.base_url}/jobs/{job.pk}/")
        card = page.locator("#cancel-card")
        expect(card.locator("#cancel-charge")).to_contain_text("free until")
        expect(card.locator("#cancel-charge")).to_contain_text("after that it costs £17.40 from your deposit")
        card.locator("#cancel-rules summary").click()
        expect(card.locator("#cancel-rules")).to_contain_text("counts as late too")
        # Nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        # The card's top just below the sticky header, then what the screen shows.
        card.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 100)")
        page.screenshot(path=str(ARTIFACTS / f"ui-cancel-card-{name}.png"))
        page.screenshot(path=str(ARTIFACTS / f"ui-cancel-page-{name}.png"), full_page=True)

    # The confirmation repeats the cost; dismissing it cancels nothing.
    messages: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.locator("#cancel-card button.danger").click()
    page.wait_for_timeout(300)
    assert messages and "It's free now: your deposit is released in full." in messages[0]
    assert Job.objects.get(pk=job.pk).status == Job.Status.SCHEDULED
