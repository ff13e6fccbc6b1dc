"""A customer who forgot their password resets it from the login page through the emailed link, signs in with
the new one and looks at their sessions.  The stack's Daphne prints mail to its log (the console backend).

Screenshots go to test-artifacts/ui-accounts-*.png for review (1280 and 390 px wide).
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import shot
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK = re.compile(r"http://\S+(/accounts/password/reset/key/\S+/)")


def test_a_customer_resets_their_password_by_email_then_sees_their_sessions(stack, new_page) -> None:
    base = stack.base_url
    dana = User.objects.create_user("dana", "dana@example.net", "pw-123456-x", role=User.Role.CUSTOMER, time_zone="UTC")
    EmailAddress.objects.create(user=dana, email=dana.email, primary=True, verified=True)
    daphne = next(p for p in stack.processes if p.name.startswith("daphne"))

    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("dana@example.net")
    shot(page, "accounts-reset-request")
    page.get_by_role("button", name="Reset my password").click()
    expect(page.locator("main")).to_contain_text("We have sent you an email")

    link = wait_until(lambda: (m := LINK.search(daphne.log())) and m.group(1), timeout=20, message="the reset email")
    page.goto(f"{base}{link}")
    page.get_by_label("New Password", exact=True).fill("a-brand-new-phrase-7")
    page.get_by_label("New Password (again)").fill("a-brand-new-phrase-7")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "accounts-new-password-390")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("main")).to_contain_text("Your password is now changed")

    log_in(page, base, "dana@example.net", "a-brand-new-phrase-7")  # by email this time
    page.goto(f"{base}/accounts/sessions/")
    expect(page.locator("#sessions li")).to_have_count(1)
    expect(page.locator("#sessions")).to_contain_text("This device")
    expect(page.locator("#sessions")).to_contain_text("Chrome on Linux")
    shot(page, "accounts-sessions-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "accounts-sessions-1280")
