"""Scheduling through a browser, on the real stack: the customer books a free slot on their job page and the tradesperson's
week calendar (open in another browser, never reloaded) shows it live; then the tradesperson reschedules from the lead page
and the customer's job page (never reloaded) shows the new time live. Times are shown in each viewer's own zone: the customer
lives in Paris, the business in London.

Screenshots go to test-artifacts/ui-scheduling-*.png for review.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from jobs.models import Job, Lead, Trade
from marketplace.accounts.models import User
from scheduling import services as scheduling
from scheduling.models import Appointment, JobDependency, Worker
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, assert_not_reloaded, mark, shot, wait_live
from tests.factories import post_job, pro
from tests.quotes.helpers import accept, submit
from tests.scheduling.helpers import worker_all_week
from tests.support import ARTIFACTS, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LIVE = 20_000  # ms: relay -> Kafka -> schedule-live consumer -> Redis -> websocket
PARIS, LONDON = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/London")


def people() -> tuple[Trade, User, User]:
    plumbing = Trade.objects.create(slug="plumbing", name="Plumbing")
    customer = User.objects.create_user(
        "dora", password="pw-123456-x", role=User.Role.CUSTOMER, display_name="Dora Price", time_zone="Europe/Paris"
    )
    bob = pro("bob", trades=[plumbing], business_name="Bob's Boilers")
    worker_all_week(bob, start=time(8), end=time(18), buffer=30, zone="Europe/London")
    return plumbing, customer, bob


def awarded(customer: User, bob: User, trade: Trade, title: str) -> Job:
    """A job posted through the real services, offered to Bob by the matching consumer, and his quote accepted."""
    job = post_job(customer, trade=trade, title=title, latitude=Decimal("51.55"), longitude=Decimal("-0.10"), place="Highbury N5")
    wait_until(lambda: Lead.objects.filter(job=job, tradesperson=bob).exists(), timeout=30, message="matching to offer the job to bob")
    accept(submit(job, bob), customer)
    job.refresh_from_db()
    assert job.status == Job.Status.AWARDED
    return job


def setup() -> tuple[Job, User, User]:
    plumbing, customer, bob = people()
    return awarded(customer, bob, plumbing, "Dripping bathroom tap"), customer, bob


def target_day() -> date:
    """A day two to eight days ahead (always in the future whatever the hour), London's date."""
    return datetime.now(LONDON).date() + timedelta(days=2)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def london(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def slot_on(page: Page, day_key: str, label: str) -> Locator:
    """The slot button ``label`` (local HH:MM) on ``day_key``, paging to later dates if that day is not shown yet."""
    section = page.locator("#appointment")
    for _ in range(4):
        expect(section.locator("[data-testid=slot-days][data-ready]")).to_be_visible()
        day = section.locator(f'.slot-day[data-day="{day_key}"]')
        if day.count():
            if day.locator("[data-testid=slots-more]").count():
                day.locator("[data-testid=slots-more]").click()  # a long day shows its first few starts
            return day.locator("[data-testid=slot-button]", has_text=label)
        section.locator("[data-testid=slots-later]").click()
    raise AssertionError(f"no slots shown for {day_key}")


def appointment_text(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """What the appointment section says, e.g. "Monday 23 November 2026, 10:00-11:00" (with an en dash) in the viewer's zone."""
    s, e = start.astimezone(zone), end.astimezone(zone)
    return f"{s:%A} {s.day} {s:%B %Y}, {s:%H:%M}–{e:%H:%M}"


def test_a_booking_reaches_the_calendar_live_and_a_reschedule_reaches_the_customer_live(stack, new_page) -> None:
    job, _dora, bob_user = setup()
    base = stack.base_url
    day = target_day()
    week = monday_of(day).isoformat()
    first_start, first_end = london(day, 9), london(day, 10)  # 10:00-11:00 for Dora in Paris
    moved_start, moved_end = london(day, 14), london(day, 15)

    # Bob watches his week calendar; he never reloads it.
    calendar = new_page()
    log_in(calendar, base, "bob")
    calendar.goto(f"{base}/calendar/?week={week}")
    wait_live(calendar, f"calendar.{bob_user.pk}")
    mark(calendar)
    expect(calendar.locator("[data-testid=calendar-appointment]")).to_have_count(0)
    expect(calendar.locator(f'.cal-dayhead[data-day="{day.isoformat()}"] [data-testid=day-free]')).to_have_text("10 h free")

    # Dora picks 10:00 (her time) on the target day from the free slots on her job page.
    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{job.pk}/")
    wait_live(customer, f"job.{job.pk}")
    mark(customer)
    section = customer.locator("#appointment")
    expect(section).to_be_visible()
    expect(section.locator(".appt-zone")).to_have_text("Times in Europe/Paris")
    slot = slot_on(customer, day.isoformat(), "10:00")
    shot(customer, "scheduling-job-slots")
    slot.click()
    expect(section.locator("[data-testid=booking-confirm]")).to_contain_text(appointment_text(first_start, first_end, PARIS))
    section.locator("[data-testid=confirm-booking]").click()
    expect(section.locator("[data-testid=appointment-time]")).to_have_text(appointment_text(first_start, first_end, PARIS))
    expect(section.locator("[data-testid=appointment-worker]")).to_have_text("With Bob")
    expect(section.locator("[data-testid=appointment-unconfirmed]")).to_be_visible()
    appointment = Appointment.objects.get(job=job, status=Appointment.Status.BOOKED)
    assert appointment.starts_at == first_start.astimezone(UTC)
    expect(customer.locator("#job-status")).to_have_text("Scheduled", timeout=LIVE)
    shot(customer, "scheduling-job-booked")

    # Bob's calendar, never reloaded, shows it (in London time) with the day's remaining capacity.
    block = calendar.locator("[data-testid=calendar-appointment]")
    expect(block).to_have_count(1, timeout=LIVE)
    expect(block).to_contain_text("09:00–10:00")
    expect(block).to_contain_text("Dripping bathroom tap")
    expect(block).to_contain_text("Highbury N5")
    expect(calendar.locator(f'.cal-dayhead[data-day="{day.isoformat()}"] [data-testid=day-free]')).to_have_text("8 h 30 free")
    assert_not_reloaded(calendar)

    # Dora confirms the time: a badge for her, a tick on Bob's calendar, both live.
    section.locator("[data-testid=appointment-confirm]").click()
    expect(section.locator("[data-testid=appointment-confirmed]")).to_have_text("✓ Confirmed")
    expect(block.locator("[data-testid=confirmed-tick]")).to_be_visible(timeout=LIVE)
    shot(calendar, "scheduling-calendar")

    # Bob moves it to 14:00 from the lead page.
    lead = new_page()
    log_in(lead, base, "bob")
    lead.goto(f"{base}/leads/{job.pk}/")
    wait_live(lead, f"user.{bob_user.pk}")
    booking = lead.locator("#appointment")
    expect(booking.locator("[data-testid=appointment-time]")).to_have_text(appointment_text(first_start, first_end, LONDON))
    expect(booking.locator("[data-testid=appointment-confirmed]")).to_be_visible()
    shot(lead, "scheduling-lead-booked")
    booking.locator("[data-testid=appointment-reschedule]").click()
    slot_on(lead, day.isoformat(), "14:00").click()
    expect(booking.locator("[data-testid=booking-confirm]")).to_contain_text("Move the appointment to")
    booking.locator("[data-testid=confirm-booking]").click()
    expect(booking.locator("[data-testid=appointment-time]")).to_have_text(appointment_text(moved_start, moved_end, LONDON))
    appointment.refresh_from_db()
    assert appointment.starts_at == moved_start.astimezone(UTC) and appointment.confirmed_at is None

    # Dora's page, never reloaded, shows the new time (her 15:00) and asks her to confirm again.
    expect(section.locator("[data-testid=appointment-time]")).to_have_text(appointment_text(moved_start, moved_end, PARIS), timeout=LIVE)
    expect(section.locator("[data-testid=appointment-unconfirmed]")).to_be_visible()
    assert_not_reloaded(customer)
    shot(customer, "scheduling-job-rescheduled")

    # And Bob's calendar followed too.
    expect(block).to_contain_text("14:00–15:00", timeout=LIVE)
    expect(block.locator("[data-testid=confirmed-tick]")).to_have_count(0)
    assert_not_reloaded(calendar)
    shot(calendar, "scheduling-calendar-rescheduled")

    lead.goto(f"{base}/dispatch/?week={week}")
    expect(lead.locator("[data-testid=dispatch-appointment]")).to_have_count(1)
    expect(lead.locator("[data-testid=dispatch-appointment]")).to_contain_text("14:00–15:00")
    expect(lead.locator("[data-testid=conflict-count]")).to_have_text("0")
    shot(lead, "scheduling-dispatch")

    # Dora cancels the appointment: she can pick a time again, and Bob's calendar empties, live.
    section.locator("[data-testid=appointment-cancel]").click()
    customer.locator("#appt-cancel-reason").fill("Away that week")
    section.locator("[data-testid=confirm-cancel]").click()
    expect(section.locator("[data-testid=slot-days][data-ready]")).to_be_visible()
    expect(customer.locator("#job-status")).to_have_text("Awarded", timeout=LIVE)
    expect(calendar.locator("[data-testid=calendar-appointment]")).to_have_count(0, timeout=LIVE)
    assert_not_reloaded(calendar)
    assert not Appointment.objects.filter(job=job, status=Appointment.Status.BOOKED).exists()

    # Phones: the slot picker and the calendar stay usable at 390 px.
    customer.set_viewport_size(PHONE)
    shot(customer, "scheduling-job-slots-phone")
    calendar.set_viewport_size(PHONE)
    shot(calendar, "scheduling-calendar-phone")


def test_proposed_times_a_time_taken_meanwhile_and_a_dependency_flag(stack, new_page) -> None:
    """Dora says on her job page that the painting comes after the wall, and its times then start after the wall's
    appointment; Bob proposes times and Dora sees them live; the one she picks was taken meanwhile, so she gets a readable
    409 with free times to pick instead; later the job it depends on moves later, and her page flags it live with new times."""
    plumbing, dora, bob_user = people()
    wall = awarded(dora, bob_user, plumbing, "Build the garden wall")
    paint = awarded(dora, bob_user, plumbing, "Paint the garden wall")
    other = awarded(User.objects.create_user("eve", password="pw-123456-x", role=User.Role.CUSTOMER), bob_user, plumbing, "Fix the gate")
    worker = Worker.objects.get(owner=bob_user, user=bob_user)
    day = target_day()
    week = monday_of(day).isoformat()
    scheduling.appointment_book(job=wall, worker=worker, starts_at=london(day, 8), duration_minutes=60, actor=bob_user)
    base = stack.base_url

    customer = new_page()
    log_in(customer, base, "dora")
    customer.goto(f"{base}/jobs/{paint.pk}/")
    section = customer.locator("#appointment")
    expect(section.locator("[data-testid=slot-days][data-ready]")).to_be_visible()
    expect(section.locator("[data-testid=slots-note]")).to_have_count(0)

    # Dora links the painting after the wall on its page: its times now start after the wall's appointment (08:00-09:00
    # London, her 09:00-10:00) and Bob's 30 minutes of travel, so her first time is 10:30 on the wall's day.
    dependencies = customer.locator("#dependencies")
    dependencies.locator("#dep-prerequisite").select_option(label="Build the garden wall")
    customer.set_viewport_size(PHONE)
    dependencies.screenshot(path=str(ARTIFACTS / "ui-scheduling-job-dependency-form-phone.png"))
    customer.set_viewport_size({"width": 1280, "height": 900})
    dependencies.locator("[data-testid=add-prerequisite]").click()
    expect(dependencies.locator("[data-testid=prerequisite]")).to_contain_text("Build the garden wall")
    expect(customer.locator(".flash.success")).to_contain_text("“Paint the garden wall” now comes after “Build the garden wall”")
    expect(section.locator("[data-testid=slot-days][data-ready]")).to_be_visible()
    expect(section.locator("[data-testid=slots-note]")).to_contain_text("“Build the garden wall” ends")
    first_day = section.locator(".slot-day").first
    expect(first_day).to_have_attribute("data-day", day.isoformat())
    expect(first_day.locator("[data-testid=slot-button]").first).to_have_text("10:30")
    assert JobDependency.objects.filter(job=paint, depends_on=wall).exists()
    customer.set_viewport_size({"width": 1280, "height": 900})
    customer.evaluate("window.scrollTo(0, 0)")  # the form came back to #dependencies; a full-page shot starts at the top
    shot(customer, "scheduling-job-dependency")
    customer.set_viewport_size(PHONE)
    dependencies.screenshot(path=str(ARTIFACTS / "ui-scheduling-job-dependency-phone-section.png"))
    customer.evaluate("window.scrollTo(0, 0)")
    shot(customer, "scheduling-job-dependency-phone")
    customer.set_viewport_size({"width": 1280, "height": 900})
    wait_live(customer, f"job.{paint.pk}")
    mark(customer)

    # Bob proposes 11:00 and 13:00 (London) from his lead page.
    lead = new_page()
    log_in(lead, base, "bob")
    lead.goto(f"{base}/leads/{paint.pk}/")
    booking = lead.locator("#appointment")
    booking.locator("[data-testid=mode-propose]").click()
    slot_on(lead, day.isoformat(), "11:00").click()
    slot_on(lead, day.isoformat(), "13:00").click()
    expect(booking.locator("[data-testid=proposal-chosen]")).to_contain_text("11:00")
    lead.locator("#appt-proposal-message").fill("Either works for me")
    shot(lead, "scheduling-lead-propose")
    booking.locator("[data-testid=send-proposal]").click()
    expect(booking.locator("[data-testid=proposal] h3")).to_have_text("You proposed these times")

    # Dora's page, never reloaded, shows the proposal first.
    proposal = section.locator("[data-testid=proposal]")
    expect(proposal.locator("h3")).to_have_text("Bob's Boilers proposed these times", timeout=LIVE)
    expect(proposal).to_contain_text("Either works for me")
    expect(proposal.locator("[data-testid=proposal-button]")).to_have_count(2)
    assert_not_reloaded(customer)
    shot(customer, "scheduling-job-proposal")

    # Someone else books Bob at 11:00 before Dora picks it: she gets the reason and free times instead, never raw JSON.
    scheduling.appointment_book(job=other, worker=worker, starts_at=london(day, 11), duration_minutes=60, actor=bob_user)
    proposal.locator("[data-testid=proposal-button]").first.click()
    section.locator("[data-testid=confirm-booking]").click()
    error = section.locator("[data-testid=appointment-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("already has an appointment")
    expect(error).not_to_contain_text("{")
    expect(error.locator("[data-testid=suggestion-button]").first).to_be_visible()
    expect(section.locator(f'.slot-day[data-day="{day.isoformat()}"] [data-testid=slot-button]', has_text="12:00")).to_have_count(0)
    shot(customer, "scheduling-job-409")
    # The other proposed time (her 14:00) is still free: accepting it books it.
    proposal.locator("[data-testid=proposal-button]").nth(1).click()
    section.locator("[data-testid=confirm-booking]").click()
    expect(section.locator("[data-testid=appointment-time]")).to_be_visible()
    expect(error).to_be_hidden()
    booked = Appointment.objects.get(job=paint, status=Appointment.Status.BOOKED)
    assert booked.starts_at == london(day, 13)
    expect(section.locator("[data-testid=appointment-time]")).to_have_text(appointment_text(booked.starts_at, booked.ends_at, PARIS))

    # Bob moves the wall to 15:00: painting before it is finished no longer works, and Dora's page says so live.
    wall_appointment = Appointment.objects.get(job=wall, status=Appointment.Status.BOOKED)
    scheduling.appointment_reschedule(appointment=wall_appointment, starts_at=london(day, 15), actor=bob_user)
    flag = section.locator("[data-testid=appointment-flag]")
    expect(flag).to_be_visible(timeout=LIVE)
    expect(flag).to_contain_text("Build the garden wall")
    expect(flag.locator("[data-testid=flag-suggestion]").first).to_be_visible()
    assert_not_reloaded(customer)
    shot(customer, "scheduling-job-flagged")

    lead.goto(f"{base}/dispatch/?week={week}")
    expect(lead.locator("[data-testid=conflict-count]")).to_have_text("1")
    expect(lead.locator("[data-testid=dispatch-appointment]")).to_have_count(3)
    shot(lead, "scheduling-dispatch-conflict")
    lead.goto(f"{base}/calendar/?week={week}")
    wait_live(lead, f"calendar.{bob_user.pk}")
    mark(lead)
    expect(lead.locator(".cal-appt.conflict")).to_have_count(1)
    shot(lead, "scheduling-calendar-conflict")

    # Dora takes a suggested time after the wall: the flag clears, on her page and on Bob's calendar.
    flag.locator("[data-testid=flag-suggestion]").first.click()
    section.locator("[data-testid=confirm-booking]").click()
    expect(flag).to_be_hidden()
    booked.refresh_from_db()
    assert booked.starts_at >= london(day, 16) and not booked.conflict_reason  # after the wall ends
    expect(lead.locator(".cal-appt.conflict")).to_have_count(0, timeout=LIVE)
    assert_not_reloaded(lead)
