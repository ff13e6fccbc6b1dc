"""The admin a phone can use: its index, a changelist and the event backbone page at 390 px, with staff logged in.

Staff get a session made in the test (Client.force_login) and handed to the browser as its cookie: faster than the
login form, and it stays right when staff log-in grows a second step.  Screenshots at 1280 and 390 px go to
test-artifacts/ui-admin-*.png for people to look at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, ViewportSize, expect

from marketplace.accounts.models import User
from marketplace.events.registry import CONSUMERS
from marketplace.ops import backbone
from tests.browser.test_marketplace import shot
from tests.factories import post_job
from tests.reliability.test_backbone_admin import dead_letter_for

pytestmark = [pytest.mark.browser]

WORD = "Thermostatic" * 5  # 60 characters, no break opportunity
SIZES: dict[str, ViewportSize] = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


@pytest.fixture
def lag_of_every_group(settings: Any) -> Iterator[None]:
    """The backbone page's lag table as wide as a real one (every group, twelve partitions each), without asking a
    broker: the live server runs in this process, so it reads this cache (kept for the whole test)."""
    settings.METRICS = {**settings.METRICS, "LAG_CACHE_S": 3600}
    rows = [(group, "marketplace.jobs", partition, partition) for group in CONSUMERS for partition in range(12)]
    backbone._lag_cache.update(at=time.monotonic(), rows=rows, error="")
    yield
    backbone._lag_cache.update(at=0.0, rows=[], error="")


def as_staff(page: Page, base_url: str, user: User) -> None:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def test_the_admin_index_a_changelist_and_the_backbone_fit_a_phone(live_server, transactional_db, new_page, lag_of_every_group) -> None:
    customer = User.objects.create_user("admwidth", password="pw-123456-x", role=User.Role.CUSTOMER)
    job = post_job(customer, title=f"Replace the {WORD} radiator valve")
    letter = dead_letter_for(job.pk)
    letter.error = f"Traceback (most recent call last):\n  File {WORD}/jobs/projections.py, line 1\nRuntimeError: {WORD} was down"
    letter.save(update_fields=["error"])
    root = User.objects.create_superuser("admroot", "root@example.com", "pw-123456-x")
    pages = {
        "index": reverse("admin:index"),
        "jobs": reverse("admin:jobs_job_changelist"),
        "backbone": reverse("admin-backbone"),
    }
    page: Page = new_page()
    as_staff(page, live_server.url, root)
    too_wide = []
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        for name, path in pages.items():
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("#content")).to_be_visible()
            shot(page, f"admin-{name}-{size_name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > size["width"]:
                too_wide.append(f"{path} at {size_name}: {width} px")
    assert not too_wide, "admin pages wider than the screen:\n" + "\n".join(too_wide)

    # The index's staff links read on one line each: one line of text is about one line-height tall.
    page.goto(f"{live_server.url}{pages['index']}")
    link = page.get_by_role("link", name="Platform dashboard")
    box = link.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] < 30, box  # one line, not a letter per line
    expect(page.get_by_role("link", name="Job board entries")).to_be_visible()
