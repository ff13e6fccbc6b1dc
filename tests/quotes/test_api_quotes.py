"""Quotes over the API: bidding with itemised quotes, revising, the version history, live pricing, promo previews."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from quotes.models import PromoCode, QuoteVersion
from tests.factories import make_pro, make_profile, make_user, offer, post_job
from tests.helpers import client_for, error_code, state

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def job(customer: User, tradesperson: User) -> Job:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    return job


def line(kind: str = "labour", description: str = "Labour", quantity: Any = "2", unit_price: Any = "45.00", **extra: Any) -> dict:
    return {"kind": kind, "description": description, "quantity": quantity, "unit_price": unit_price, **extra}


def standard_lines() -> list[dict]:
    return [line(), line("materials", "Parts", "1", "30.00"), line("callout", "Call-out", "1", "25.00")]


def three_options() -> list[dict]:
    return [
        {"tier": "good", "title": "Patch repair", "lines": [line(quantity="1"), line("callout", "Call-out", "1", "25.00")]},
        {"tier": "better", "title": "New washer", "lines": standard_lines()},
        {"tier": "best", "title": "New tap", "lines": [*standard_lines(), line("materials", "Tap", "1", "90.00")]},
    ]


def bid(job: Job, user: User, body: dict) -> Any:
    return client_for(user).post(f"/api/jobs/{job.pk}/bids/", body, format="json")


def quote_rows() -> int:
    return QuoteVersion.objects.count()


# --- bidding with a quote ------------------------------------------------------------------------


def test_bidding_with_three_options_prices_each_on_the_server(job: Job, tradesperson: User) -> None:
    response = bid(job, tradesperson, {"options": three_options(), "notes": "Parts from stock", "message": "Can come Friday"})
    assert response.status_code == 201, response.content
    body = response.json()
    quote = body["quote"]
    assert (quote["number"], quote["notes"]) == (1, "Parts from stock")
    assert [(o["tier"], o["title"], o["net"], o["total"]) for o in quote["options"]] == [
        ("good", "Patch repair", "70.00", "84.00"),
        ("better", "New washer", "145.00", "174.00"),
        ("best", "New tap", "235.00", "282.00"),
    ]
    # The bidder sees the platform fee and their payout; the bid's amount is what the customer pays for the cheapest option.
    assert (quote["options"][1]["platform_fee"], quote["options"][1]["payout"], quote["options"][1]["deposit"]) == (
        "14.50",
        "130.50",
        "34.80",
    )
    assert (body["amount"], body["message"]) == ("84.00", "Can come Friday")


def test_top_level_lines_are_one_standard_option_and_client_totals_are_ignored(job: Job, tradesperson: User) -> None:
    lines = [line(amount="1.00", total="1.00"), line("materials", "Parts", "1", "30.00", amount="0.01")]
    response = bid(job, tradesperson, {"lines": lines, "total": "5.00", "discount": {"kind": "percent", "value": "10"}})
    assert response.status_code == 201, response.content
    [option] = response.json()["quote"]["options"]
    # 2 x 45 + 30 = 120, less 10 % = 108 net, 21.60 VAT.
    assert (option["tier"], option["subtotal"], option["discounts_total"], option["net"], option["total"]) == (
        "standard",
        "120.00",
        "12.00",
        "108.00",
        "129.60",
    )


def test_the_customer_sees_the_quote_without_fees(job: Job, customer: User, tradesperson: User) -> None:
    bid(job, tradesperson, {"lines": standard_lines()})
    [row] = client_for(customer).get(f"/api/jobs/{job.pk}/bids/").json()
    option = row["quote"]["options"][0]
    assert (option["total"], option["platform_fee"], option["payout"]) == ("174.00", None, None)


@pytest.mark.parametrize(
    ("bad", "code", "field"),
    [
        ({"unit_price": 45.5}, "float_not_allowed", "options[0].lines[1].unit_price"),
        ({"quantity": 1.5}, "float_not_allowed", "options[0].lines[1].quantity"),
        ({"unit_price": "NaN"}, "not_finite", "options[0].lines[1].unit_price"),
        ({"unit_price": "Infinity"}, "not_finite", "options[0].lines[1].unit_price"),
        ({"unit_price": "-5.00"}, "negative_price", "options[0].lines[1].unit_price"),
        ({"unit_price": "1.234"}, "sub_penny", "options[0].lines[1].unit_price"),
        ({"unit_price": "abc"}, "not_a_number", "options[0].lines[1].unit_price"),
        ({"quantity": "0"}, "bad_quantity", "options[0].lines[1].quantity"),
        ({"kind": "bribe"}, "invalid_kind", "options[0].lines[1].kind"),
        ({"description": "  "}, "missing_text", "options[0].lines[1].description"),
        ({"unit_price": "99999.99", "quantity": "2"}, "amount_too_large", "options[0].lines[1]"),
    ],
)
def test_bad_lines_are_refused_with_the_pricing_code_and_the_path(job: Job, tradesperson: User, bad: dict, code: str, field: str) -> None:
    lines = [line(), {**line("materials", "Parts", "1", "30.00"), **bad}]
    before, versions = state(), quote_rows()
    response = bid(job, tradesperson, {"options": [{"tier": "standard", "lines": lines}]})
    assert response.status_code == 400, response.content
    assert error_code(response) == code
    assert list(response.json()["error"]["fields"]) == [field]
    assert (state(), quote_rows()) == (before, versions)


def test_too_many_lines_and_bad_discounts_name_their_field(job: Job, tradesperson: User) -> None:
    before = state()
    response = bid(job, tradesperson, {"options": [{"lines": [line(description=f"Item {i}") for i in range(31)]}]})
    assert (response.status_code, error_code(response), list(response.json()["error"]["fields"])) == (
        400,
        "too_many_lines",
        ["options[0].lines"],
    )
    response = bid(job, tradesperson, {"lines": [line(unit_price="-1")]})
    assert (error_code(response), list(response.json()["error"]["fields"])) == ("negative_price", ["lines[0].unit_price"])
    response = bid(job, tradesperson, {"lines": standard_lines(), "discount": {"kind": "percent", "value": "150"}})
    assert (error_code(response), list(response.json()["error"]["fields"])) == ("percent_out_of_range", ["discount.value"])
    response = bid(job, tradesperson, {"lines": standard_lines(), "discount": {"kind": "percent", "value": 12.5}})
    assert (error_code(response), list(response.json()["error"]["fields"])) == ("float_not_allowed", ["discount.value"])
    assert state() == before


def test_the_structure_of_a_quote_is_validated(job: Job, tradesperson: User) -> None:
    before = state()
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "validation_error"),
        ({"amount": "10", "lines": standard_lines()}, "validation_error"),
        ({"options": []}, "validation_error"),
        ({"options": [{"tier": "premium", "lines": standard_lines()}]}, "validation_error"),
        ({"options": [{"tier": "good", "lines": standard_lines()}, {"tier": "good", "lines": standard_lines()}]}, "bad_options"),
        ({"options": [{"tier": t, "lines": standard_lines()} for t in ("good", "better", "best", "standard")]}, "bad_options"),
        ({"lines": standard_lines(), "valid_until": "2001-01-01"}, "bad_valid_until"),
        ({"lines": [{"kind": "labour"}]}, "validation_error"),
    ]
    for body, code in cases:
        response = bid(job, tradesperson, body)
        assert (response.status_code, error_code(response)) == (400, code), (body, response.content)
    assert state() == before


# --- revising and the history ----------------------------------------------------------------------


def test_revising_publishes_a_new_version_and_the_history_says_what_changed(job: Job, customer: User, tradesperson: User) -> None:
    bid_id = bid(job, tradesperson, {"lines": standard_lines()}).json()["id"]
    revised = client_for(tradesperson).patch(
        f"/api/bids/{bid_id}/", {"lines": [line(quantity="3"), line("materials", "Parts", "1", "30.00")]}, format="json"
    )
    assert revised.status_code == 200, revised.content
    assert (revised.json()["quote"]["number"], revised.json()["amount"], revised.json()["revision"]) == (2, "198.00", 2)

    history = client_for(customer).get(f"/api/bids/{bid_id}/quote/").json()
    assert history["bid_id"] == bid_id
    v1, v2 = history["versions"]
    assert (v1["number"], v1["changes"], v1["accepted"], v2["number"], v2["accepted"]) == (1, [], False, 2, False)
    assert any("Labour" in change for change in v2["changes"]) and any("Call-out" in change for change in v2["changes"])
    assert [(ln["description"], ln["quantity"], ln["amount"]) for ln in v2["options"][0]["lines"]] == [
        ("Labour", "3.00", "135.00"),
        ("Parts", "1.00", "30.00"),
    ]
    assert v2["options"][0]["platform_fee"] is None
    assert client_for(tradesperson).get(f"/api/bids/{bid_id}/quote/").json()["versions"][1]["options"][0]["platform_fee"] == "16.50"


def test_a_revision_with_a_bad_line_names_it_and_writes_nothing(job: Job, tradesperson: User) -> None:
    bid_id = bid(job, tradesperson, {"lines": standard_lines()}).json()["id"]
    before = state()
    response = client_for(tradesperson).patch(
        f"/api/bids/{bid_id}/", {"options": [{"lines": [line(), line(unit_price="0.001")]}]}, format="json"
    )
    assert (response.status_code, error_code(response), list(response.json()["error"]["fields"])) == (
        400,
        "sub_penny",
        ["options[0].lines[1].unit_price"],
    )
    assert state() == before and QuoteVersion.objects.count() == 1


def test_only_the_parties_and_staff_see_a_quote(job: Job, customer: User, other_customer: User, tradesperson: User) -> None:
    bid_id = bid(job, tradesperson, {"lines": standard_lines()}).json()["id"]
    rival = make_pro("trade_z")
    offer(job, rival)
    bid(job, rival, {"amount": "99"})
    staff = make_user("staff_s", is_staff=True)
    for user, expected in ((customer, 200), (tradesperson, 200), (staff, 200), (other_customer, 404), (rival, 404)):
        response = client_for(user).get(f"/api/bids/{bid_id}/quote/")
        assert response.status_code == expected, user
        if expected == 404:
            assert error_code(response) == "not_found"
    # The rival sees only their own bid, with their own quote.
    rows = client_for(rival).get(f"/api/jobs/{job.pk}/bids/").json()
    assert [(r["tradesperson"]["id"], r["quote"]["options"][0]["net"]) for r in rows] == [(rival.pk, "99.00")]


def test_a_bid_placed_before_quotes_has_no_quote(job: Job, customer: User, tradesperson: User) -> None:
    from tests.factories import place_bid

    old = place_bid(job, tradesperson)
    assert client_for(customer).get(f"/api/jobs/{job.pk}/bids/").json()[0]["quote"] is None
    assert client_for(customer).get(f"/api/bids/{old.pk}/quote/").json() == {"bid_id": old.pk, "versions": []}


# --- live pricing ----------------------------------------------------------------------------------


def test_a_tradesperson_prices_a_draft_and_nothing_is_written(job: Job, tradesperson: User) -> None:
    before, versions = state(), quote_rows()
    response = client_for(tradesperson).post("/api/quotes/price/", {"options": three_options()[:2]}, format="json")
    assert response.status_code == 200, response.content
    good, better = response.json()["options"]
    assert (good["tier"], good["subtotal"], good["tax"], good["total"], good["deposit"], good["balance"]) == (
        "good",
        "70.00",
        "14.00",
        "84.00",
        "16.80",
        "67.20",
    )
    assert (better["platform_fee"], better["payout"], [ln["amount"] for ln in better["lines"]]) == (
        "14.50",
        "130.50",
        ["90.00", "30.00", "25.00"],
    )
    assert (state(), quote_rows()) == (before, versions)


def test_pricing_a_draft_refuses_like_bidding(job: Job, customer: User, tradesperson: User) -> None:
    response = client_for(tradesperson).post("/api/quotes/price/", {"lines": [line(), line(unit_price=1.1)]}, format="json")
    assert (response.status_code, error_code(response), list(response.json()["error"]["fields"])) == (
        400,
        "float_not_allowed",
        ["lines[1].unit_price"],
    )
    response = client_for(tradesperson).post("/api/quotes/price/", {"amount": "90000"}, format="json")
    assert (error_code(response), list(response.json()["error"]["fields"])) == ("amount_too_large", ["amount"])
    assert client_for(customer).post("/api/quotes/price/", {"amount": "10"}, format="json").status_code == 403
    assert client_for(None).post("/api/quotes/price/", {"amount": "10"}, format="json").status_code == 403


def test_the_customer_previews_a_promo_on_an_option(job: Job, customer: User, tradesperson: User) -> None:
    PromoCode.objects.create(code="SAVE10", kind="percent", value=D("10"))
    PromoCode.objects.create(code="BIGSPEND", kind="fixed", value=D("20"), min_spend=D("500"))
    bid_id = bid(job, tradesperson, {"options": three_options()}).json()["id"]
    url = f"/api/bids/{bid_id}/quote/price/"
    api = client_for(customer)

    response = api.post(url, {"tier": "better", "promo_code": "save10"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    # 145 less 10 % (14.50) = 130.50 net, 26.10 VAT, 156.60 total, 31.32 deposit.
    assert (body["promo_code"], body["promo_amount"], body["net"], body["total"], body["deposit"], body["version"]) == (
        "SAVE10",
        "14.50",
        "130.50",
        "156.60",
        "31.32",
        1,
    )
    assert "platform_fee" not in body
    assert api.post(url, {"tier": "good"}, format="json").json()["total"] == "84.00"

    before = state()
    for payload, code, status in (
        ({"tier": "better", "promo_code": "NOPE"}, "promo_unknown", 400),
        ({"tier": "better", "promo_code": "BIGSPEND"}, "promo_below_min_spend", 400),
        ({"tier": "standard"}, "no_such_option", 400),
    ):
        response = api.post(url, payload, format="json")
        assert (response.status_code, error_code(response)) == (status, code)
    assert response.json()["error"]["fields"] == {"tier": ["That option is not part of this quote."]}
    assert client_for(tradesperson).post(url, {"tier": "good"}, format="json").status_code == 403
    assert state() == before and PromoCode.objects.get(code="SAVE10").uses == 0


def test_pricing_a_bid_without_a_quote_is_a_conflict(job: Job, customer: User, tradesperson: User) -> None:
    from tests.factories import place_bid

    old = place_bid(job, tradesperson)
    response = client_for(customer).post(f"/api/bids/{old.pk}/quote/price/", {"tier": "standard"}, format="json")
    assert (response.status_code, error_code(response)) == (409, "no_quote")
    assert Bid.objects.get(pk=old.pk).status == "active"
