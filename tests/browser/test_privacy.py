"""A customer downloads their data, then deletes their account and can no longer log in (marketplace/privacy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import shot
from tests.factories import post_job

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_customer_downloads_their_data_then_deletes_their_account(stack, new_page) -> None:
    customer = User.objects.create_user("grace_h", password="pw-123456-x", email="grace@example.org", display_name="Grace Hopper")
    post_job(customer, title="Loose stair rod")
    page = new_page()
    log_in(page, stack.base_url, "grace_h")
    page.get_by_role("link", name="Grace Hopper").click()  # the account page: email, password, sessions, data
    page.get_by_role("link", name="Your data (download, delete account)").click()
    expect(page.get_by_role("heading", name="Your account and data")).to_be_visible()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"privacy-account-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    data = json.loads(Path(download.value.path()).read_text())
    assert data["data"]["account.user"]["email"] == "grace@example.org"
    assert data["data"]["jobs"]["jobs_posted"][0]["title"] == "Loose stair rod"

    page.get_by_label("Your password").fill("pw-123456-x")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account is deleted.")).to_be_visible()
    shot(page, "privacy-deleted-390")

    page.goto(f"{stack.base_url}/accounts/login/")
    page.get_by_label("Username").fill("grace_h")
    page.get_by_label("Password").fill("pw-123456-x")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errorlist, .error, [role=alert]").first).to_be_visible()
    assert not User.objects.filter(username="grace_h").exists()
