"""The dispatch board dispatches, on the real stack: the dispatcher drags an appointment to another worker and a second
open board (never reloaded) shows it there; the Move form (the keyboard alternative) is refused with a sentence naming
the job in the way, then succeeds; a job from the unassigned queue is dragged onto a worker's day.  Screenshots at 1280
and 390 px go to test-artifacts/ui-dispatch-board-*.png; at 390 px nothing is wider than the screen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, time

import pytest
from playwright.sync_api import Locator, Page, expect

from scheduling import services as scheduling
from scheduling.models import Appointment, Worker
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.browser.test_scheduling import LIVE, london, monday_of, target_day
from tests.factories import CustomerFactory, pro
from tests.scheduling.helpers import awarded_job, worker_all_week
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_dispatcher_drags_an_appointment_and_a_second_board_updates_live(stack, new_page) -> None:
    customer = CustomerFactory.create(username="dora")
    bob = pro("bob", business_name="Bob's Boilers")
    ann = worker_all_week(bob, start=time(8), end=time(18), zone="Europe/London")
    sam = Worker.objects.create(owner=bob, name="Sam", time_zone="Europe/London", travel_buffer_minutes=30)
    scheduling.worker_set_hours(worker=sam, actor=bob, hours=[(d, time(8), time(18)) for d in range(7)])
    day = target_day()
    tap = scheduling.appointment_book(
        job=awarded_job(customer, bob, title="Dripping tap"), worker=ann, starts_at=london(day, 10), duration_minutes=60, actor=bob
    )
    scheduling.appointment_book(
        job=awarded_job(customer, bob, title="Boiler service"), worker=ann, starts_at=london(day, 14), duration_minutes=60, actor=bob
    )
    fence = awarded_job(customer, bob, title="Fence panel")
    base, week, key = stack.base_url, monday_of(day).isoformat(), day.isoformat()

    boards = []
    for _ in range(2):  # the dispatcher's board and a second one open elsewhere
        page = new_page()
        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, base, "bob")
        page.goto(f"{base}/dispatch/?week={week}")
        wait_live(page, f"calendar.{bob.pk}")
        mark(page)
        boards.append(page)
    dispatcher, watcher = boards

    def cell(page: Page, worker: Worker) -> Locator:
        return page.locator(f'td[data-worker="{worker.pk}"][data-day="{key}"]')

    card = f'.disp-card[data-appointment="{tap.pk}"]'
    expect(cell(watcher, ann).locator(card)).to_be_visible()

    def drag(what: str, onto: Locator, done: Callable[[], bool]) -> None:
        """Drag as a person would, and again if the drop did not take: each change redraws the board (at once, and
        again on its live push), and a redraw that lands mid-drag leaves the dragged card detached from the page."""
        for _ in range(3):
            dispatcher.locator(what).drag_to(onto)
            with contextlib.suppress(AssertionError):
                wait_until(done, timeout=8, message="the drop to be saved")
                return
        raise AssertionError(f"dragging {what} never took")

    # Drag the tap job from Ann (the owner's own worker, "Bob") to Sam: both boards show it in Sam's row, same time.
    drag(card, cell(dispatcher, sam), lambda: Appointment.objects.filter(pk=tap.pk, worker=sam).exists())
    expect(cell(watcher, sam).locator(card)).to_contain_text("10:00–11:00", timeout=LIVE)
    expect(cell(watcher, ann).locator(card)).to_have_count(0)
    assert_not_reloaded(watcher)
    tap.refresh_from_db()
    assert tap.worker_id == sam.pk and tap.starts_at == london(day, 10).astimezone(UTC)

    # The keyboard alternative: Move back to Bob at 14:30 is refused by the database's constraint, with a sentence.
    moved = cell(dispatcher, sam).locator(card)
    moved.locator("[data-testid=move-button]").click()
    moved.locator("[data-testid=move-worker]").select_option(str(ann.pk))
    moved.locator("[data-testid=move-time]").fill("14:30")
    # A live redraw while the form is open (another board's change) keeps it open with what was chosen in it.
    redraws = int(dispatcher.locator("#schedule-fragment").get_attribute("data-refreshed") or 0)
    dispatcher.evaluate("TL.scheduleRefresh()")
    expect(dispatcher.locator("#schedule-fragment")).to_have_attribute("data-refreshed", str(redraws + 1))
    expect(moved.locator("[data-testid=move-worker]")).to_have_value(str(ann.pk))
    expect(moved.locator("[data-testid=move-time]")).to_have_value("14:30")
    moved.locator("[data-testid=move-submit]").click()
    error = moved.locator("[data-testid=move-error]")
    expect(error).to_have_text("Bob already has a job 14:00–15:00 then (Boiler service).")
    shot(dispatcher, "dispatch-board-refused")
    moved.locator("[data-testid=move-time]").fill("11:30")
    moved.locator("[data-testid=move-submit]").click()
    expect(cell(watcher, ann).locator(card)).to_contain_text("11:30–12:30", timeout=LIVE)

    # The unassigned queue: drag the fence job onto Sam's day; it takes his first free start and leaves the queue.
    expect(watcher.locator("[data-testid=queue-item]")).to_have_count(1)
    booked = Appointment.objects.filter(job=fence, status=Appointment.Status.BOOKED)
    drag(f'[data-testid=queue-item][data-job="{fence.pk}"]', cell(dispatcher, sam), booked.exists)
    expect(watcher.locator("[data-testid=queue-item]")).to_have_count(0, timeout=LIVE)
    expect(cell(watcher, sam)).to_contain_text("Fence panel")
    assert Appointment.objects.get(job=fence, status=Appointment.Status.BOOKED).worker_id == sam.pk
    assert_not_reloaded(watcher)
    shot(dispatcher, "dispatch-board-1280")

    # At 390 px the board stacks per worker: nothing wider than the screen.
    watcher.set_viewport_size(PHONE)
    watcher.locator("[data-testid=move-button]").first.click()
    assert watcher.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(watcher, "dispatch-board-390")
