"""The staff inbox updates live in a browser on the real stack, and the customer 360 page renders (screenshots).

Staff keep Admin > Staff alerts > Alerts open; a new customer posts their first job; the relay, the broker
and the ``staff-alerts`` consumer raise the alert and it appears at the top of the inbox without a reload.
Then staff open the customer's 360 page from the alert.

Screenshots: test-artifacts/ui-alerts-inbox-live.png, ui-customer360.png.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from alerts.models import Alert
from marketplace.accounts.models import User
from tests.browser.test_marketplace import assert_not_reloaded, mark, shot
from tests.factories import post_job
from tests.helpers import activate_totp
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 30_000  # ms: relay -> Kafka -> staff-alerts consumer -> Redis -> websocket


def sign_in(page: Page, base_url: str, user: User) -> None:
    """A real session for ``user`` as a cookie (the login form and its TOTP step are tested elsewhere; this skips
    them). Staff get an authenticator first: without one the stack sends them to set it up."""
    if user.is_staff:
        activate_totp(user)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def test_a_new_alert_appears_live_in_the_inbox_and_links_to_the_customer_360(stack, new_page) -> None:
    ops = User.objects.create_superuser("ops", "ops@example.com", "pw-123456-x")
    erin = User.objects.create_user("erin", "erin@example.com", "pw-123456-x", role=User.Role.CUSTOMER, display_name="Erin")
    base = stack.base_url

    page = new_page()
    sign_in(page, base, ops)
    page.goto(f"{base}/admin/alerts/alert/")
    page.wait_for_function("() => (document.body.dataset.liveStreams || '').split(' ').includes('staff.alerts')", timeout=LIVE)
    mark(page)
    expect(page.locator("#live-alerts")).to_be_hidden()

    job = post_job(erin, title="Boiler will not fire", place="Islington N1")
    item = page.locator("#live-alerts-list li").first
    expect(item).to_contain_text("New customer's first job: Erin posted “Boiler will not fire”", timeout=LIVE)
    expect(page.locator("#live-alerts-count")).to_have_text("1")
    assert_not_reloaded(page)
    shot(page, "alerts-inbox-live")
    alert = wait_until(lambda: Alert.objects.filter(job_id=job.pk, kind="first_job").first(), message="the alert row")

    page.reload()
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Boiler will not fire")
    row.get_by_role("link", name="Erin (360)").click()
    page.wait_for_url(f"{base}/admin/customer360/{erin.pk}/")
    expect(page.locator("#c360-jobs")).to_contain_text("Boiler will not fire")
    expect(page.locator("#c360-alerts")).to_contain_text(alert.title)
    shot(page, "customer360")
