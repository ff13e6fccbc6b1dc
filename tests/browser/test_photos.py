"""Photos in a browser: a lead's gallery opens the full photo in a lightbox; a portfolio photo reaches the public profile.

(The customer attaching photos while posting is in test_marketplace.py.) Screenshots at 1280 and 390 px
wide go to test-artifacts/ui-photos-*.png for review.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import Page, ViewportSize, expect

from jobs.models import PortfolioPhoto
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.factories import make_profile, offer, post_job, trade
from tests.support import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDE: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (1600, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def shots(page: Page, name: str) -> None:
    """The page at 1280 and at 390 px wide; nothing may be wider than the screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("wide", WIDE), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"ui-photos-{name}-{label}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], f"{name} is wider than {label}"
    page.set_viewport_size(WIDE)


def loaded(page: Page, selector: str) -> None:
    page.wait_for_function("s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)", arg=selector)


def test_a_lead_gallery_opens_the_photo_and_a_portfolio_photo_shows_on_the_public_profile(stack, new_page) -> None:
    plumbing = trade()
    customer = User.objects.create_user("carol", password="pw-123456-x", role=User.Role.CUSTOMER)
    pro = User.objects.create_user("pete", password="pw-123456-x", role=User.Role.TRADESPERSON, display_name="Pete Walsh")
    make_profile(pro, trades=[plumbing], business_name="Pete's Pipes")
    photos = [
        SimpleUploadedFile(f"p{i}.jpg", jpeg(colour), content_type="image/jpeg") for i, colour in enumerate([(40, 90, 160), (160, 90, 40)])
    ]
    job = post_job(customer, title="Leaking kitchen tap", photos=photos)
    offer(job, pro)

    page = new_page()
    log_in(page, stack.base_url, "pete")
    page.goto(f"{stack.base_url}/leads/{job.pk}/")
    thumbs = page.locator(".photos img")
    expect(thumbs).to_have_count(2)
    loaded(page, ".photos img")
    assert thumbs.first.evaluate("i => i.naturalWidth") == 400  # the thumbnail, not the 1600 px photo
    shots(page, "lead")

    thumbs.nth(1).click()
    lightbox = page.get_by_role("dialog", name="Photo")
    expect(lightbox).to_be_visible()
    expect(lightbox).to_contain_text("2 of 2")
    loaded(page, ".lightbox img")
    assert page.locator(".lightbox img").evaluate("i => i.naturalWidth") == 1600
    shots(page, "lightbox")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()

    page.goto(f"{stack.base_url}/profile/")
    page.get_by_label("Photo of your work").set_input_files(
        {"name": "bathroom.jpg", "mimeType": "image/jpeg", "buffer": jpeg((30, 140, 90))}
    )
    page.get_by_label("Caption").fill("New bathroom in Highbury")
    page.get_by_role("button", name="Add photo").click()
    expect(page.locator(".flash.success")).to_contain_text("Photo added to your portfolio")
    assert PortfolioPhoto.objects.filter(profile__user=pro).count() == 1
    page.locator("#portfolio").scroll_into_view_if_needed()
    shots(page, "profile")

    visitor = new_page()  # anyone, not logged in
    visitor.goto(f"{stack.base_url}/pros/{pro.pk}/")
    portfolio = visitor.locator("#portfolio")
    expect(portfolio).to_contain_text("New bathroom in Highbury")
    loaded(visitor, "#portfolio img")
    shots(visitor, "public-profile")
