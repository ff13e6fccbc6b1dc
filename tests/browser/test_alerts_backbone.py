"""A backbone alert in the staff inbox and the conditions list, as staff see them at 1280 and 390 px (screenshots).

No relay or consumers are needed (the clock's pass writes the rows): Django's live server is enough.
Screenshots: test-artifacts/ui-backbone-alert-inbox-{1280,390}.png, ui-backbone-conditions-{1280,390}.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from playwright.sync_api import Browser, expect

from alerts import backbone as paging
from alerts.backbone import backbone_check
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from tests.browser.test_marketplace import ARTIFACTS
from tests.factories import post_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_backbone_alert_reads_well_in_the_inbox_on_a_desktop_and_a_phone(
    live_server,
    browser: Browser,
    customer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paging, "read_lag", lambda fresh=False: ([("matching", "marketplace.jobs", 0, 1500)], "", 0.0))
    post_job(customer, title="Leaking tap")
    OutboxEvent.objects.update(created_at=OutboxEvent.objects.get().created_at - timedelta(minutes=7))
    with override_settings(BACKBONE_PAGING={**settings.BACKBONE_PAGING, "FOR_S": 0}):
        assert backbone_check()["raised"] == 3  # outbox age (critical), relay stalled (critical), matching's lag

    ops = User.objects.create_superuser("ops", "ops@example.com", "pw-123456-x")
    client = Client()
    client.force_login(ops)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([cookie])  # type: ignore[list-item]
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/alerts/alert/?kind__exact=backbone")
        expect(page.locator("#result_list")).to_contain_text("Events are not reaching Kafka: the oldest unpublished event has waited 7 min")
        expect(page.locator("#result_list")).to_contain_text("Consumer group “matching” is 1,500 message(s) behind")
        page.screenshot(path=str(ARTIFACTS / f"ui-backbone-alert-inbox-{width}.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/alerts/backbonecondition/")
        expect(page.locator("#result_list")).to_contain_text("relay_stalled")
        page.screenshot(path=str(ARTIFACTS / f"ui-backbone-conditions-{width}.png"), full_page=True)
        context.close()
