"""One price everywhere and words for people (issue 19): the money formatter and its currency setting, the
customer-facing price of a bid, decline reasons in words, no hard-coded pound sign in templates or scripts,
a discount that leaves nothing to pay refused with a sentence, and a declined card shown to the customer only."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.template import Context, Template
from django.test import Client, override_settings

from jobs.models import Bid, Job
from jobs.projections import JobLiveHandler
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.money import currency_symbol, format_money
from marketplace.payment_words import DECLINE_REASONS, decline_reason
from marketplace.realtime import push
from quotes.models import QuoteAcceptance
from quotes.presenters import CustomerPrice, accepted_price, bid_amount, quote_price
from tests.factories import make_profile, offer, post_job
from tests.helpers import client_for, error_code
from tests.quotes.helpers import accept, good_better_best, submit
from timeline.projections import TimelineProjection
from timeline.selectors import timeline_for

D = Decimal
ROOT = Path(settings.BASE_DIR)


def pricing(**changes: Any) -> dict[str, Any]:
    return {**settings.PRICING, **changes}


# --- the formatter ------------------------------------------------------------------------------


def test_amounts_are_written_in_the_currency_and_locale_of_the_settings() -> None:
    assert format_money(D("1234.5")) == "£1,234.50"
    assert format_money(D("90.00"), whole=True) == "£90" and format_money(D("90.50"), whole=True) == "£90.50"
    assert format_money("-3") == "-£3.00"
    assert format_money(None) == "" and format_money("", blank="an amount") == "an amount" and format_money("abc") == ""
    with override_settings(PRICING=pricing(CURRENCY="EUR", LOCALE="de_DE")):
        assert format_money(D("1234.5")) == "1.234,50\xa0€"
        assert currency_symbol() == "€"
        html = Template('{{ a|money }} {{ b|money:"whole" }} {% money_currency %} {% money_locale %}').render(
            Context({"a": D("118.2"), "b": D("90")})
        )
        assert html == "118,20\xa0€ 90\xa0€ EUR de-DE"
        assert CustomerPrice(D("118.20"), D("19.70"), several=True).headline == "from 118,20\xa0€"


# --- the price a customer sees ------------------------------------------------------------------


class Option:
    def __init__(self, total: str, tax: str) -> None:
        self.total, self.tax = D(total), D(tax)


def test_a_bid_shows_its_cheapest_total_with_vat_and_once_accepted_what_was_accepted() -> None:
    options = [Option("174.00", "29.00"), Option("118.20", "19.70"), Option("300.00", "50.00")]
    price = quote_price(options)
    assert price is not None
    assert (price.headline, price.vat_note) == ("from £118.20", "incl. £19.70 VAT")
    assert price.as_json() == {"total": "118.20", "tax": "19.70", "from": True, "headline": "from £118.20", "vat_note": "incl. £19.70 VAT"}
    assert bid_amount(options) == D("118.20")
    single = quote_price([Option("98.50", "0.00")])
    assert single is not None and (single.headline, single.vat_note) == ("£98.50", "no VAT")
    assert quote_price([]) is None
    accepted = accepted_price(Option("156.06", "26.01"))
    assert (accepted.headline, accepted.vat_note) == ("£156.06", "incl. £26.01 VAT")


def test_decline_codes_become_words_and_never_reach_a_person() -> None:
    assert decline_reason("card_declined") == "the bank declined the card"
    assert decline_reason("insufficient_funds") == "the card has insufficient funds"
    assert decline_reason("do_not_honour") == "the card was not accepted"  # an unknown code is not repeated
    assert decline_reason("") == decline_reason(None) == "the card was not accepted"
    assert decline_reason("Card blocked by the issuer.") == "Card blocked by the issuer"
    for code, words in DECLINE_REASONS.items():
        assert "_" not in words and code not in words


# --- no hard-coded currency ---------------------------------------------------------------------


def test_no_template_or_script_hard_codes_the_pound_sign() -> None:
    """Amounts go through the money filter (templates) and TL.money / TL.money2 (scripts), which read the setting."""
    vendored = ROOT / "static" / "vendor"
    files = [p for p in (ROOT / "templates").rglob("*.html")] + [p for p in (ROOT / "static").rglob("*.js") if vendored not in p.parents]
    assert len(files) > 50
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in files for n, line in enumerate(p.read_text().splitlines(), 1) if "£" in line]
    assert offenders == [], "use {{ amount|money }} or TL.money2(amount): " + ", ".join(offenders)
    # The scripts format with Intl.NumberFormat from <body data-currency data-locale>, not a fixed locale.
    app = (ROOT / "static" / "js" / "app.js").read_text()
    assert "Intl.NumberFormat" in app and "body.dataset.currency" in app
    assert re.search(r'data-currency="\{% money_currency %\}"', (ROOT / "templates" / "base.html").read_text())


# --- refusals with a sentence -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_discount_larger_than_the_quote_is_refused_with_a_sentence_and_the_field(customer: User, tradesperson: User) -> None:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    lines = [{"kind": "labour", "description": "Labour", "quantity": "1", "unit_price": "50.00"}]
    response = client_for(tradesperson).post(
        f"/api/jobs/{job.pk}/bids/", {"lines": lines, "discount": {"kind": "fixed", "value": "500.00"}}, format="json"
    )
    assert response.status_code == 400
    assert error_code(response) == "discount_too_large"
    body = response.json()["error"]
    assert body["message"] == "The discounts take this quote to £0.00: make the discount smaller than the work it comes off."
    assert body["fields"] == {"discount": [body["message"]]}

    # The builder says the same next to the discount, as the tradesperson types and when they send it.
    page = Client()
    page.force_login(tradesperson)
    form = {
        "opt-0-tier": "standard",
        "opt-0-line-0-kind": "labour",
        "opt-0-line-0-description": "Labour",
        "opt-0-line-0-quantity": "1",
        "opt-0-line-0-unit_price": "50",
        "discount_kind": "fixed",
        "discount_value": "500",
    }
    preview = page.post(f"/leads/{job.pk}/quote/preview.json", form).json()
    assert preview["ok"] is False and preview["errors"]["discount_value"] == body["message"]
    sent = page.post(f"/leads/{job.pk}/quote/", form)
    assert sent.status_code == 400 and body["message"] in sent.content.decode()


# --- a declined card is the customer's business -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_declined_card_is_told_to_the_customer_in_words_and_never_to_the_tradesperson(
    customer: User, tradesperson: User, monkeypatch: Any
) -> None:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    version = submit(job, tradesperson, good_better_best())
    with pytest.raises(ServiceError) as refused:
        accept(version, customer, tier="better", token="tok_decline")
    assert refused.value.message == "Your card was declined: the bank declined the card. The quote is still open: try another card."
    accept(version, customer, tier="better")  # another card: the tradesperson wins the job

    handler = TimelineProjection()
    for row in OutboxEvent.objects.filter(key=str(job.pk)).order_by("id"):
        if handler.handles(row.event_type):
            handler.handle(from_dict(row.envelope))
    job = Job.objects.get(pk=job.pk)
    theirs = [e["summary"] for e in timeline_for(job=job, user=tradesperson)]
    mine = [e["summary"] for e in timeline_for(job=job, user=customer)]
    failed = [s for s in mine if "failed" in s]
    assert len(failed) == 1 and failed[0].endswith("failed: the bank declined the card.")
    assert not any("failed" in s or "declined the card" in s for s in theirs)
    assert not any("card_declined" in s for s in mine + theirs)
    # The bid's price on both sides is what the customer pays: the accepted option's total.
    better = version.options.get(tier="better")
    assert any(format_money(better.total) in s for s in theirs if "accepted" in s)

    # The live push to the awarded tradesperson says a payment failed (their panel refetches), never why.
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(push, "send_on_commit", lambda stream, event, data, **kw: sent.append((stream, data)))
    failed_row = OutboxEvent.objects.filter(event_type="payment.failed").first()
    assert failed_row is not None
    envelope = failed_row.envelope
    envelope["data"] = {**envelope["data"], "stage": "balance"}
    JobLiveHandler().on_payment_failed(from_dict(envelope))
    to_pro = [data for stream, data in sent if stream == f"user.{tradesperson.pk}"]
    to_page = [data for stream, data in sent if stream == f"job.{job.pk}"]
    assert to_pro and all("reason" not in data for data in to_pro)
    assert to_page and to_page[0]["reason"] == "card_declined"  # the customer's own page; it shows the words


@pytest.mark.django_db
def test_the_migration_gives_quoted_bids_the_price_the_customer_pays(customer: User, tradesperson: User) -> None:
    # A migration module's name starts with a digit: it is imported by name.
    migration = importlib.import_module("quotes.migrations.0009_bid_amount_is_what_the_customer_pays")
    make_profile(tradesperson)
    open_job, won_job = post_job(customer), post_job(customer)
    for job in (open_job, won_job):
        offer(job, tradesperson)
    waiting = submit(open_job, tradesperson, good_better_best())
    won = submit(won_job, tradesperson, good_better_best())
    acceptance = accept(won, customer, tier="best")
    # As the old rule left them: the first option's net.
    for version in (waiting, won):
        Bid.objects.filter(pk=version.bid_id).update(amount=version.options.order_by("position")[0].net)
    migration.customer_prices(apps, None)
    assert Bid.objects.get(pk=waiting.bid_id).amount == min(o.total for o in waiting.options.all())
    assert Bid.objects.get(pk=won.bid_id).amount == acceptance.total


@pytest.mark.django_db(transaction=True)
def test_accepting_again_from_a_second_tab_says_it_is_done_not_that_it_failed(customer: User, tradesperson: User) -> None:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    version = submit(job, tradesperson, good_better_best())
    browser = Client()
    browser.force_login(customer)
    url = f"/jobs/{job.pk}/bids/{version.bid_id}/accept-quote/"
    form = {"version": "1", "tier": "good", "card_token": "tok_visa"}
    first = browser.post(url, {**form, "idempotency_key": "tab-a"}, follow=True)
    assert "Accepted. We've told the tradesperson" in unescape(first.content.decode())
    second = browser.post(url, {**form, "tier": "better", "idempotency_key": "tab-b"}, follow=True)
    html = unescape(second.content.decode())
    assert second.status_code == 200 and "You've already accepted a quote for this job" in html
    assert 'class="flash error' not in html and 'class="flash info' in html
    # One banner, from the payment panel: the deposit of the option accepted first.
    acceptance = QuoteAcceptance.objects.get(job=job)
    assert acceptance.option.tier == "good"
    assert html.count(f"Accepted — {format_money(acceptance.deposit)} deposit held") == 2  # the banner and the panel's data-banner
