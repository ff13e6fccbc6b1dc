"""The API tokens page in a browser: create a named token, see it once, revoke it, at 1280 px and 390 px wide.

Screenshots go to test-artifacts/ui-api-tokens-*.png for review.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from marketplace.accounts.models import ApiToken, User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than the screen"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_token_is_created_shown_once_and_revoked(live_server, transactional_db, new_page, width) -> None:
    User.objects.create_user("tina", password="pw-123456-x", role=User.Role.CUSTOMER)
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server.url, "tina")
    # The account page (the name in the top bar; "Account" in a phone's nav) links to the tokens.
    page.get_by_role("link", name="tina" if width >= 1000 else "Account").click()
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url(f"{live_server.url}/accounts/tokens/")
    expect(page.locator("#no-tokens")).to_be_visible()

    page.get_by_label("Name it after the device or app").fill("Tina's phone")
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token-value")
    expect(shown).to_be_visible()
    token = shown.inner_text()
    assert token.startswith("tl_") and len(token) == 67 and token.startswith(ApiToken.objects.get().token_key)
    expect(page.locator("#token-list")).to_contain_text("Tina's phone")
    fits(page)
    shot(page, f"api-tokens-created-{width}")

    page.goto(f"{live_server.url}/accounts/tokens/")  # shown once: never again
    expect(page.locator("#token-list")).to_contain_text("Tina's phone")
    assert token not in page.content()

    page.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Token revoked")
    expect(page.locator("#no-tokens")).to_be_visible()
    assert not ApiToken.objects.exists()
    fits(page)
    shot(page, f"api-tokens-revoked-{width}")
