"""Trade questions in the browser: the job form fetches the chosen trade's questions, a conditional question
appears when its answer is picked, and the tradesperson's lead shows the answers."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job, Lead, Trade, TradeQuestion
from marketplace.accounts.models import User
from tests.browser.conftest import log_in
from tests.browser.test_marketplace import PHONE, people, shot
from tests.jobs.test_questions import ask

pytestmark = [pytest.mark.browser, pytest.mark.slow]
Kind = TradeQuestion.Kind


def both_widths(page: Page, name: str) -> None:
    """Screenshots at 1280 and 390 px wide, and nothing wider than the phone's screen."""
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def plumbing_questions(plumbing: Trade) -> None:
    work = ask(plumbing, "plumbing_work", Kind.CHOICE, choices=("leak", "install"), position=1)
    TradeQuestion.objects.filter(pk=work.pk).update(label="What needs doing?")
    fixture = ask(
        plumbing, "plumbing_fixture", Kind.CHOICE, choices=("tap", "toilet"), position=2, show_if_question=work, show_if_value="install"
    )
    TradeQuestion.objects.filter(pk=fixture.pk).update(label="What should be installed?")


def wait_for_lead(customer: User, pro: User) -> Job:
    job = Job.objects.get(customer=customer)
    deadline = time.monotonic() + 20
    while not Lead.objects.filter(job=job, tradesperson=pro).exists():
        assert time.monotonic() < deadline, "matching offered no lead"
        time.sleep(0.2)
    return job


def test_a_customer_answers_the_trade_s_questions_and_the_lead_shows_them(stack, new_page) -> None:
    plumbing, customer, pro = people()
    plumbing_questions(plumbing)
    base = stack.base_url

    page = new_page()
    log_in(page, base, "carol")
    page.goto(f"{base}/jobs/new/")
    expect(page.locator("#questions-section")).to_have_count(0)
    page.get_by_label("Trade").select_option(label="Plumbing")
    expect(page.get_by_text("What needs doing?")).to_be_visible()  # fetched for the trade chosen
    expect(page.get_by_text("What should be installed?")).to_be_hidden()
    page.get_by_label("Install").check()
    expect(page.get_by_text("What should be installed?")).to_be_visible()  # its condition is met
    page.get_by_label("Tap").check()
    page.get_by_label("Title").fill("New kitchen tap")
    page.get_by_label("Describe the job").fill("Replace the old mixer tap; the new one is bought.")
    page.get_by_label("Place or postcode district").fill("Highbury N5")
    page.get_by_label("Budget up to (£)").fill("150")
    both_widths(page, "questions-job-form")
    page.get_by_role("button", name="Post job").click()
    page.wait_for_url(f"{base}/jobs/*/")
    expect(page.locator("#job-answers")).to_contain_text("What should be installed?")

    job = wait_for_lead(customer, pro)
    trader = new_page()
    log_in(trader, base, "pete")
    trader.goto(f"{base}/leads/{job.pk}/")
    answers = trader.locator("#job-answers")
    expect(answers.locator(".answer")).to_have_count(2)
    expect(answers).to_contain_text("Install")
    expect(answers).to_contain_text("Tap")
    expect(trader.locator("#job-emergency")).to_be_hidden()
    both_widths(trader, "questions-lead")

    trader.goto(f"{base}/profile/")  # the answers a business does not take
    expect(trader.locator("#declined-answers")).to_contain_text("Plumbing: What should be installed?")
    both_widths(trader, "questions-profile")
