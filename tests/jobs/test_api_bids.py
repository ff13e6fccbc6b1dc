"""Bids API: placing, revising, withdrawing, shortlisting, declining, and every way to get it wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs.models import Bid, Lead
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from tests.factories import make_pro, make_profile, offer, place_bid, post_job
from tests.helpers import client_for, error_code, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(customer, tradesperson):
    """A's open job, offered to X (who has not bid yet)."""
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    return job


def bids_url(job) -> str:
    return f"/api/jobs/{job.pk}/bids/"


def refused(response, status: int, code: str, before: dict) -> None:
    assert response.status_code == status, response.content
    assert error_code(response) == code
    assert state() == before


# --- placing ---------------------------------------------------------------------------------


def test_a_tradesperson_with_a_lead_bids(job, tradesperson) -> None:
    response = client_for(tradesperson).post(
        bids_url(job), {"amount": "95.50", "message": "Can come today", "earliest_start": "2031-05-01T09:00:00Z"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    # A plain price is net; the bid's amount is what the customer pays (95.50 + 20 % VAT).
    assert (body["amount"], body["status"], body["revision"], body["job"]) == ("114.60", "active", 1, job.pk)
    assert body["tradesperson"] == {
        "id": tradesperson.pk,
        "display_name": "",
        "business_name": "Trade_X Ltd",
        "is_id_verified": False,
        "is_insured": False,
    }
    assert Lead.objects.get().bid_at is not None
    assert OutboxEvent.objects.filter(event_type="bid.placed").count() == 1


@pytest.mark.parametrize("amount", ["0", "0.00", "-5", "1000000.01", "12.345", "abc", "NaN", None])
def test_bad_amounts_are_refused(job, tradesperson, amount) -> None:
    before = state()
    response = client_for(tradesperson).post(bids_url(job), {} if amount is None else {"amount": amount}, format="json")
    refused(response, 400, "validation_error", before)
    assert "amount" in response.json()["error"]["fields"]


def test_the_largest_amount_is_the_pricing_limit_with_tax(job, tradesperson) -> None:
    # A plain amount is a one-line quote: net 83,333.33 + 20 % VAT = 100,000.00, the largest total a quote may have.
    api = client_for(tradesperson)
    before = state()
    response = api.post(bids_url(job), {"amount": "83333.34"}, format="json")
    refused(response, 400, "amount_too_large", before)
    assert list(response.json()["error"]["fields"]) == ["amount"]
    response = api.post(bids_url(job), {"amount": "83333.33"}, format="json")
    assert response.status_code == 201
    assert response.json()["quote"]["options"][0]["total"] == "100000.00"


def test_an_overlong_message_is_refused(job, tradesperson) -> None:
    before = state()
    refused(
        client_for(tradesperson).post(bids_url(job), {"amount": "10", "message": "m" * 2001}, format="json"),
        400,
        "validation_error",
        before,
    )


def test_bidding_twice_is_refused(job, tradesperson) -> None:
    place_bid(job, tradesperson)
    before = state()
    refused(client_for(tradesperson).post(bids_url(job), {"amount": "80"}, format="json"), 409, "already_bid", before)


def test_bidding_on_a_closed_job_is_refused(job, customer, tradesperson) -> None:
    client_for(customer).post(f"/api/jobs/{job.pk}/cancel/")
    before = state()
    refused(client_for(tradesperson).post(bids_url(job), {"amount": "80"}, format="json"), 409, "job_closed", before)


def test_bidding_without_a_lead_is_404_because_the_job_is_not_theirs_to_see(job) -> None:
    stranger = make_pro("trade_y")
    before = state()
    refused(client_for(stranger).post(bids_url(job), {"amount": "80"}, format="json"), 404, "not_found", before)


def test_a_customer_cannot_bid_on_their_own_job(job, customer) -> None:
    before = state()
    refused(client_for(customer).post(bids_url(job), {"amount": "80"}, format="json"), 403, "not_a_tradesperson", before)


def test_another_customer_cannot_bid_or_even_see_the_job(job, other_customer) -> None:
    before = state()
    refused(client_for(other_customer).post(bids_url(job), {"amount": "80"}, format="json"), 404, "not_found", before)


def test_staff_cannot_bid_on_a_tradespersons_behalf(job, tradesperson) -> None:
    staff = User.objects.create_user("staff_s", password="pw-123456-x", is_staff=True)
    before = state()
    response = client_for(staff).post(bids_url(job), {"amount": "80", "tradesperson": tradesperson.pk}, format="json")
    refused(response, 403, "not_a_tradesperson", before)


def test_a_job_poster_who_became_a_tradesperson_cannot_bid_on_their_own_job(customer, tradesperson) -> None:
    job = post_job(customer)
    customer.role = User.Role.TRADESPERSON
    customer.save()
    make_profile(customer)
    offer(job, customer)
    before = state()
    refused(client_for(customer).post(bids_url(job), {"amount": "80"}, format="json"), 403, "own_job", before)


def test_client_supplied_owner_status_and_job_are_ignored(job, tradesperson, customer) -> None:
    other_job = post_job(customer, title="Other")
    response = client_for(tradesperson).post(
        bids_url(job),
        {"amount": "80", "status": "accepted", "tradesperson": customer.pk, "job": other_job.pk, "revision": 9},
        format="json",
    )
    assert response.status_code == 201
    bid = Bid.objects.get()
    assert (bid.status, bid.tradesperson, bid.job, bid.revision) == ("active", tradesperson, job, 1)


# --- listing ---------------------------------------------------------------------------------


def test_bids_are_listed_cheapest_first_for_the_customer(job, customer, tradesperson) -> None:
    other = make_pro("trade_z")
    offer(job, other)
    place_bid(job, tradesperson, "300")
    place_bid(job, other, "200")
    rows = client_for(customer).get(bids_url(job)).json()
    assert [(r["amount"], r["tradesperson"]["business_name"]) for r in rows] == [("200.00", "Trade_Z Ltd"), ("300.00", "Trade_X Ltd")]
    assert [r["amount"] for r in client_for(tradesperson).get(bids_url(job)).json()] == ["300.00"]


# --- revising --------------------------------------------------------------------------------


def test_revising_a_bid_keeps_what_is_not_sent(job, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    Bid.objects.filter(pk=bid.pk).update(message="Original note")
    response = client_for(tradesperson).patch(f"/api/bids/{bid.pk}/", {"amount": "99.99"}, format="json")
    assert response.status_code == 200
    # Amounts are what the customer pays: the net price sent plus 20 % VAT.
    assert (response.json()["amount"], response.json()["message"], response.json()["revision"]) == ("119.99", "Original note", 2)
    revised = OutboxEvent.objects.get(event_type="bid.revised").envelope["data"]
    assert (revised["amount"], revised["previous_amount"]) == ("119.99", "120.00")  # the factory's bid had no quote


def test_revising_needs_an_amount(job, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    before = state()
    refused(client_for(tradesperson).patch(f"/api/bids/{bid.pk}/", {"message": "cheaper"}, format="json"), 400, "validation_error", before)


def test_revising_someone_elses_bid(job, customer, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    stranger = make_pro("trade_y")
    before = state()
    # Another tradesperson cannot see the bid; the job's customer can, but it is not theirs.
    refused(client_for(stranger).patch(f"/api/bids/{bid.pk}/", {"amount": "1"}, format="json"), 404, "not_found", before)
    refused(client_for(customer).patch(f"/api/bids/{bid.pk}/", {"amount": "1"}, format="json"), 403, "forbidden", before)


def test_revising_after_the_job_was_awarded_is_refused(job, customer, tradesperson) -> None:
    bid_id = client_for(tradesperson).post(bids_url(job), {"amount": "120"}, format="json").json()["id"]
    bid = Bid.objects.get(pk=bid_id)
    accepted = client_for(customer).post(f"/api/bids/{bid.pk}/accept/", {"version": 1, "card_token": "tok_visa"}, format="json")
    assert accepted.status_code == 201, accepted.content
    before = state()
    refused(client_for(tradesperson).patch(f"/api/bids/{bid.pk}/", {"amount": "1"}, format="json"), 409, "bid_not_open", before)


# --- withdrawing, shortlisting, declining ----------------------------------------------------


def test_withdrawing_then_withdrawing_again(job, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    api = client_for(tradesperson)
    assert api.post(f"/api/bids/{bid.pk}/withdraw/").json()["status"] == "withdrawn"
    before = state()
    refused(api.post(f"/api/bids/{bid.pk}/withdraw/"), 409, "bid_not_open", before)
    refused(api.patch(f"/api/bids/{bid.pk}/", {"amount": "5"}, format="json"), 409, "bid_not_open", before)


def test_only_the_bidder_withdraws(job, customer, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    before = state()
    refused(client_for(customer).post(f"/api/bids/{bid.pk}/withdraw/"), 403, "forbidden", before)


def test_the_customer_shortlists_then_declines(job, customer, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    api = client_for(customer)
    assert api.post(f"/api/bids/{bid.pk}/shortlist/").json()["status"] == "shortlisted"
    response = api.post(f"/api/bids/{bid.pk}/decline/", {"reason": "Found someone closer"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    assert OutboxEvent.objects.get(event_type="bid.declined").envelope["data"]["reason"] == "Found someone closer"
    before = state()
    refused(api.post(f"/api/bids/{bid.pk}/decline/"), 409, "bid_not_open", before)
    refused(api.post(f"/api/bids/{bid.pk}/shortlist/"), 409, "bid_not_open", before)


def test_the_bidder_cannot_shortlist_or_decline_their_own_bid(job, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    before = state()
    refused(client_for(tradesperson).post(f"/api/bids/{bid.pk}/shortlist/"), 403, "forbidden", before)
    refused(client_for(tradesperson).post(f"/api/bids/{bid.pk}/decline/"), 403, "forbidden", before)


def test_another_customer_cannot_touch_the_bid(job, other_customer, tradesperson) -> None:
    bid = place_bid(job, tradesperson)
    before = state()
    for action in ("withdraw", "shortlist", "decline"):
        refused(client_for(other_customer).post(f"/api/bids/{bid.pk}/{action}/"), 404, "not_found", before)


def test_a_bid_amount_is_a_decimal_string_never_a_float(job, customer, tradesperson) -> None:
    place_bid(job, tradesperson, "0.10")
    [row] = client_for(customer).get(bids_url(job)).json()
    assert row["amount"] == "0.10" and Decimal(row["amount"]) == Decimal("0.1")


def test_listing_bids_does_not_query_per_bid(job, customer, tradesperson, django_assert_max_num_queries) -> None:
    place_bid(job, tradesperson)
    for n in range(5):
        pro = make_pro(f"pro_{n}")
        offer(job, pro)
        place_bid(job, pro)
    # The job, the bids with their bidders and profiles, and the latest quotes (versions, options, lines).
    with django_assert_max_num_queries(7):
        assert len(client_for(customer).get(bids_url(job)).json()) == 6
