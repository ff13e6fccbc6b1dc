"""Quote pages: the builder's server-side pricing and checks, the customer's quote view, accepting with a (SIMULATED) deposit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from jobs.models import Bid, Job, Lead
from marketplace.accounts.models import User
from payments.models import Payment
from quotes.models import PromoCode, QuoteVersion
from quotes.pricing import LineItem
from quotes.services import OptionInput
from tests.factories import LeadFactory, TradespersonFactory, TradespersonProfileFactory
from tests.quotes.helpers import good_better_best, quote, revise, submit

pytestmark = pytest.mark.django_db


def builder(**fields: str) -> dict[str, str]:
    data = {
        "opt-0-line-0-kind": "labour",
        "opt-0-line-0-description": "Labour",
        "opt-0-line-0-quantity": "2",
        "opt-0-line-0-unit_price": "45",
        "opt-0-line-5-kind": "materials",
        "opt-0-line-5-description": "Cartridge",
        "opt-0-line-5-quantity": "1",
        "opt-0-line-5-unit_price": "30",
    }
    data.update(fields)
    return data


def test_the_preview_prices_the_draft_on_the_server(client: Client, lead: Lead, tradesperson: User) -> None:
    client.force_login(tradesperson)
    url = f"/leads/{lead.job_id}/quote/preview.json"
    data = client.post(url, builder()).json()
    assert data["ok"] and data["errors"] == {}
    # 2 x 45 + 30 = 120 net; VAT 20 % = 24; total 144; deposit 20 % = 28.80; platform fee 10 % of net = 12.
    assert {k: data["options"][0][k] for k in ("net", "tax", "total", "deposit", "payout")} == {
        "net": "120.00",
        "tax": "24.00",
        "total": "144.00",
        "deposit": "28.80",
        "payout": "108.00",
    }
    discounted = client.post(url, builder(discount_kind="percent", discount_value="10")).json()
    assert discounted["options"][0]["net"] == "108.00"
    bad = client.post(url, builder(**{"opt-0-line-5-quantity": "abc", "discount_kind": "percent", "discount_value": "150"})).json()
    assert not bad["ok"]
    assert bad["errors"]["opt-0-line-5-quantity"] == "Enter a number, e.g. 2 or 45.50."
    assert "between 0 and 100" in bad["errors"]["discount_value"]
    assert not Bid.objects.exists()  # a preview writes nothing


def test_alternatives_publish_good_better_best_and_errors_stay_next_to_fields(client: Client, lead: Lead, tradesperson: User) -> None:
    client.force_login(tradesperson)
    url = f"/leads/{lead.job_id}/quote/"
    fields = builder(
        alternatives="on",
        **{
            "opt-0-title": "Repair",
            "opt-1-title": "Replace",
            "opt-1-line-0-kind": "labour",
            "opt-1-line-0-description": "New tap fitted",
            "opt-1-line-0-quantity": "3",
            "opt-1-line-0-unit_price": "",
            "valid_until": "2001-01-01",
        },
    )
    response = client.post(url, fields)
    assert response.status_code == 400
    errors = response.context["draft"].errors
    assert errors["opt-1-line-0-unit_price"] == "Enter a price." and errors["valid_until"] == "Choose today or a later day."
    assert b"Enter a price." in response.content and b'value="New tap fitted"' in response.content  # typed values kept
    assert not Bid.objects.exists()  # nothing half-written

    fields.update({"opt-1-line-0-unit_price": "60", "valid_until": ""})
    assert client.post(url, fields).status_code == 302
    version = QuoteVersion.objects.get()
    assert [(o.tier, o.title, o.net) for o in version.options.all()] == [
        ("good", "Repair", Decimal("120.00")),
        ("better", "Replace", Decimal("180.00")),
    ]


def test_the_customer_sees_options_changes_and_accepts_with_a_promo_and_a_test_card(
    client: Client, job: Job, lead: Lead, tradesperson: User, profile
) -> None:
    version = submit(job, tradesperson, good_better_best())
    bid = version.bid
    v2 = revise(bid, tradesperson, quote(*[OptionInput(lines=o.lines, tier=o.tier, title=o.title) for o in _gbb_with_cheaper_best()]))
    PromoCode.objects.create(code="WELCOME10", kind="percent", value=Decimal("10"))
    client.force_login(job.customer)
    page = client.get(f"/jobs/{job.pk}/")
    html = page.content.decode()
    assert "Version 2" in html and "What changed since version 1" in html
    assert "SIMULATED payment — no real money moves" in html and "Test Visa — approved" in html
    assert 'name="card_number"' not in html and "Card number" not in html
    fragment = client.get(f"/jobs/{job.pk}/bids/{bid.pk}/quote/").content.decode()
    assert "Version 2" in fragment and "New tap" in fragment

    better = v2.options.get(tier="better")
    promo = client.post(f"/jobs/{job.pk}/bids/{bid.pk}/promo.json", {"version": "2", "tier": "better", "promo_code": "welcome10"})
    figures = promo.json()["figures"]
    assert Decimal(figures["total"]) < better.total and promo.json()["promo_code"] == "WELCOME10"
    unknown = client.post(f"/jobs/{job.pk}/bids/{bid.pk}/promo.json", {"version": "2", "tier": "better", "promo_code": "NOPE"})
    assert unknown.status_code == 400 and "There is no promo code" in unknown.json()["error"]["message"]
    stale = client.post(f"/jobs/{job.pk}/bids/{bid.pk}/promo.json", {"version": "1", "tier": "better", "promo_code": ""})
    assert stale.json()["error"]["code"] == "quote_changed"

    accept = {"version": "2", "tier": "better", "promo_code": "WELCOME10", "expected_total": figures["total"]}
    declined = client.post(f"/jobs/{job.pk}/bids/{bid.pk}/accept-quote/", {**accept, "card_token": "tok_decline", "idempotency_key": "k1"})
    # The same page again, the form as it was filled in (promo code and card kept), the reason in words.
    assert declined.status_code == 402
    again = declined.content.decode()
    assert "Your card was declined: the bank declined the card." in again and "card_declined" not in again
    assert 'value="WELCOME10"' in again and 'value="tok_decline" selected' in again
    assert f'name="expected_total" value="{figures["total"]}"' in again  # the promo's figures, so pressing again works
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN

    ok = client.post(
        f"/jobs/{job.pk}/bids/{bid.pk}/accept-quote/", {**accept, "card_token": "tok_visa", "idempotency_key": "k2"}, follow=True
    )
    html = ok.content.decode()
    payment = Payment.objects.get()
    assert f"Accepted — £{payment.held:,.2f} deposit held" in html
    assert payment.status == Payment.Status.DEPOSIT_HELD and payment.acceptance.promo_code == "WELCOME10"
    assert 'id="payment-panel"' in html and "Deposit held" in html
    assert "Cancelling now is <strong>free</strong>" in html  # within the free minutes after accepting
    panel = client.get(f"/jobs/{job.pk}/payment/").content.decode()
    assert "Deposit held" in panel and "Your payout" not in panel

    client.force_login(tradesperson)
    lead_page = client.get(f"/leads/{job.pk}/").content.decode()
    assert "Start work" in lead_page and "Your payout" in lead_page
    assert client.post(f"/leads/{job.pk}/work/start/").status_code == 302
    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS
    client.post(f"/leads/{job.pk}/work/complete/")
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED


def _gbb_with_cheaper_best() -> list[OptionInput]:
    options = list(good_better_best().options)
    best = options[2]
    options[2] = OptionInput(
        lines=[*best.lines[:1], LineItem("materials", "New tap", Decimal(1), Decimal("70.00"))], tier="best", title="New tap"
    )
    return options


def test_other_bidders_never_see_a_competitors_quote(client: Client, job: Job, lead: Lead, tradesperson: User, profile) -> None:
    version = submit(job, tradesperson, quote())
    other = TradespersonFactory.create(username="yolanda")
    other_profile = TradespersonProfileFactory.create(user=other, business_name="Yolanda Pipes", trades=[job.trade])
    LeadFactory.create(job=job, profile=other_profile, distance_km=Decimal("1.95"))
    client.force_login(other)
    assert client.get(f"/jobs/{job.pk}/bids/{version.bid_id}/quote/").status_code == 404
    assert client.get(f"/jobs/{job.pk}/payment/").status_code == 404
    page = client.get(f"/leads/{job.pk}/").content.decode()
    assert "Labour" not in page.split('id="bid-section"')[0]


def test_a_tradesperson_cancelling_an_awarded_job(client: Client, job: Job, lead: Lead, tradesperson: User, profile) -> None:
    from tests.quotes.helpers import accept

    accept(submit(job, tradesperson), job.customer)
    client.force_login(tradesperson)
    client.post(f"/leads/{job.pk}/work/cancel/", {"reason": "Van broke down"})
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert client.post(f"/leads/{job.pk}/work/explode/").status_code == 404
