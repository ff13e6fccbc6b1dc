"""No page is wider than a phone: one stack, the main pages at 390 px with a 60-character word in every title,
description, bio and message a person typed, each asserting ``scrollWidth <= 390``.  Screenshots of each go to
test-artifacts/ui-width-*.png (and a few at 1280 px) for people to look at.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from playwright.sync_api import Page

from jobs.models import JobBoardEntry, Trade
from jobs.services import bid_place
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import shot
from tests.factories import offer, post_job, pro
from tests.quotes.helpers import accept, quote, submit
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORD = "Thermostatic" * 5  # 60 characters, no break opportunity
PHONE = 390


def wide_pages(page: Page, base: str, who: str, paths: list[str], *, desktop: tuple[str, ...] = ()) -> list[str]:
    """The paths whose page is wider than the phone, with a screenshot of every page (and the ``desktop`` ones at 1280 px)."""
    too_wide = []
    for path in paths:
        page.set_viewport_size({"width": PHONE, "height": 844})
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        name = f"width-{who}-{path.strip('/').replace('/', '-') or 'home'}"
        shot(page, f"{name}-390")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            too_wide.append(f"{path} ({who}): {width} px")
        # Every item of the main navigation on screen, none hidden past the edge of a sideways strip.
        off_screen = page.evaluate(
            f"""[...document.querySelectorAll('nav.nav a')].filter(a => a.offsetParent !== null)
                .filter(a => {{ const r = a.getBoundingClientRect(); return r.left < 0 || r.right > {PHONE}; }})
                .map(a => a.textContent.trim())"""
        )
        if off_screen:
            too_wide.append(f"{path} ({who}): nav items off screen: {', '.join(off_screen)}")
        if path in desktop:
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{base}{path}")
            shot(page, f"{name}-1280")
    return too_wide


def test_every_main_page_fits_a_390_px_screen_with_long_words(stack, new_page) -> None:
    base = stack.base_url
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    dora = User.objects.create_user("dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name=f"Dora {WORD}")
    bob = pro("bob", trades=[plumbing], business_name=f"Bob {WORD}"[:120], bio=f"Boilers and {WORD} valves since 1999.")
    open_job = post_job(dora, trade=plumbing, title=f"Replace {WORD} radiator valve", description=f"The {WORD} valve weeps.")
    with contextlib.suppress(IntegrityError), transaction.atomic():
        offer(open_job, bob)  # the running matching consumer may have offered it already
    bid_place(job=open_job, tradesperson=bob, amount=Decimal("150.00"), message=f"I fit {WORD} valves every week.")
    busy = post_job(dora, trade=plumbing, title=f"Quoted {WORD} boiler service")
    with contextlib.suppress(IntegrityError), transaction.atomic():
        offer(busy, bob)
    submit(busy, bob, quote(notes=f"Includes a {WORD} flush.", message=f"Quote for the {WORD} boiler."))
    awarded = post_job(dora, trade=plumbing, title=f"Awarded {WORD} tap")
    sam = pro("sam", trades=[plumbing])
    with contextlib.suppress(IntegrityError), transaction.atomic():
        offer(awarded, sam)
    accept(submit(awarded, sam), dora)
    wait_until(lambda: JobBoardEntry.objects.filter(job_id=open_job.pk).exists(), timeout=30, message="the board to have the job")

    page = new_page()
    problems = wide_pages(page, base, "public", ["/", f"/pros/{bob.pk}/", "/signup/", "/accounts/login/"], desktop=("/",))
    log_in(page, base, "dora")
    problems += wide_pages(
        page,
        base,
        "customer",
        ["/", "/jobs/", f"/jobs/{open_job.pk}/", f"/jobs/{busy.pk}/", f"/jobs/{awarded.pk}/", "/jobs/new/", "/notifications/"],
        desktop=(f"/jobs/{open_job.pk}/",),
    )
    page.context.clear_cookies()
    log_in(page, base, "bob")
    problems += wide_pages(
        page,
        base,
        "pro",
        [
            "/",
            "/leads/",
            f"/leads/{open_job.pk}/",
            f"/leads/{busy.pk}/",
            "/board/",
            "/profile/",
            f"/pros/{bob.pk}/",
            "/calendar/",
            "/dispatch/",
            "/availability/",
            "/payouts/",
            "/notifications/",
            "/insights/",
            "/team/",
        ],
        desktop=(f"/leads/{busy.pk}/", "/board/", "/team/"),
    )
    page.context.clear_cookies()
    log_in(page, base, "sam")  # a won job: the lead page's visit button, the visit page itself
    problems += wide_pages(page, base, "winner", [f"/leads/{awarded.pk}/", f"/visits/{awarded.pk}/", "/calendar/"])
    assert not problems, "pages wider than a 390 px screen:\n" + "\n".join(problems)
