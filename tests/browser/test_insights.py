"""Insights dashboards through a browser, on the real stack: the tradesperson's dashboard and the staff platform
dashboard are open; the tradesperson completes a job (through the services, as the visit page would); the
``insights`` consumer counts it (and then the payment the ``payments`` consumer collects) and both pages update
their numbers and charts without a reload.

Screenshots go to test-artifacts/ui-insights-*.png for review.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job, Lead, Trade
from jobs.services import job_complete, job_start_work
from marketplace.accounts.models import User
from payments.approval import payment_approve
from payments.models import Payment
from tests.browser.conftest import log_in, log_in_staff
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import accept, submit
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: service -> outbox -> relay -> Kafka -> insights consumer -> Redis -> websocket -> refetch


def test_the_dashboards_update_live_when_a_job_is_completed(stack, new_page) -> None:
    base = stack.base_url
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, time_zone="UTC")
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    User.objects.create_user("boss", password="pw-123456-x", is_staff=True, time_zone="UTC")
    job = post_job(dora, trade=plumbing, title="Dripping bathroom tap")
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob).exists(), timeout=60, message="matching to offer the job to bob")
    accept(submit(job, bob), dora)

    mine = new_page()
    log_in(mine, base, "bob")
    mine.get_by_role("link", name="Insights").click()
    mine.wait_for_url(f"{base}/insights/")
    wait_live(mine, f"insights.{bob.pk}")
    expect(mine.get_by_test_id("kpi-jobs_awarded")).to_have_text("1", timeout=LIVE)  # the award, counted by the consumer
    expect(mine.get_by_test_id("kpi-jobs_completed")).to_have_text("0")

    staff = new_page()
    log_in_staff(staff, base, "boss")
    staff.goto(f"{base}/insights/platform/")
    wait_live(staff, "insights.platform")
    expect(staff.get_by_test_id("kpi-jobs_posted")).to_have_text("1", timeout=LIVE)
    expect(staff.get_by_test_id("kpi-jobs_completed")).to_have_text("0")
    mark(mine)
    mark(staff)

    job_start_work(job=Job.objects.get(pk=job.pk), actor=bob)
    job_complete(job=Job.objects.get(pk=job.pk), actor=bob)

    expect(mine.get_by_test_id("kpi-jobs_completed")).to_have_text("1", timeout=LIVE)
    expect(staff.get_by_test_id("kpi-jobs_completed")).to_have_text("1", timeout=LIVE)
    # The customer approves the work; the payments consumer and executor collect the price; its snapshot
    # reaches insights and the revenue tile.
    wait_until(lambda: Payment.objects.get(job=job).status == Payment.Status.AWAITING_APPROVAL, timeout=30, message="the sign-off request")
    payment_approve(payment=Payment.objects.get(job=job), actor=dora)
    expect(mine.get_by_test_id("kpi-revenue")).not_to_have_text("£0.00", timeout=LIVE)
    expect(staff.get_by_test_id("kpi-platform_fees")).not_to_have_text("£0.00", timeout=LIVE)
    expect(mine.locator("[data-testid=insights-trades] tbody tr[data-trade=plumbing]")).to_be_visible()
    assert_not_reloaded(mine)
    assert_not_reloaded(staff)

    # The trade filter and the CSV link follow each other.
    mine.get_by_label("Trade").select_option("plumbing")
    expect(mine.get_by_test_id("insights-csv")).to_have_attribute(
        "href", f"/api/insights/csv/?date_from={_value(mine, 'date_from')}&date_to={_value(mine, 'date_to')}&trade=plumbing"
    )
    mine.wait_for_timeout(800)  # let the charts finish their animation for the screenshots
    shot(mine, "insights-tradesperson")
    shot(staff, "insights-platform")


def _value(page: Page, name: str) -> str:
    return str(page.locator(f"input[name={name}]").input_value())
