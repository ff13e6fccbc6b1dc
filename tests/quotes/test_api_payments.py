"""Accepting and paying over the API, against the real simulated gateway (SIMULATED: no real money) and Postgres.

Acceptance (deposit held, idempotent, declines, card numbers), the payment view per role,
start / complete / collection, paying a failed balance, staff refunds, gateway webhooks and finance.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from payments.models import GatewayWebhook, Payment, PaymentOperation
from payments.services import payment_collect
from payments.webhooks import sign_webhook
from quotes.models import QuoteOption, QuoteVersion
from quotes.services import quote_submit, single_line_quote
from tests.factories import make_pro, make_profile, make_user, offer, post_job
from tests.helpers import client_for, error_code, run_payments_executor, state

pytestmark = pytest.mark.django_db
D = Decimal
Op = PaymentOperation
CARD_NUMBER = "4242 4242 4242 4242"


@pytest.fixture
def job(customer: User, tradesperson: User) -> Job:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    return job


@pytest.fixture
def bid(job: Job, tradesperson: User) -> Bid:
    # 120 net + 20 % VAT = 144 total; deposit 28.80, balance 115.20; platform fee 12, payout 108.
    return quote_submit(job=job, tradesperson=tradesperson, quote=single_line_quote(D("120.00"))).bid


@pytest.fixture
def staff() -> User:
    return make_user("staff_s", is_staff=True)


def accept(user: User, bid: Bid, key: str = "", **body: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    payload = {"version": 1, "tier": "standard", "card_token": "tok_visa", **body}
    return client_for(user).post(f"/api/bids/{bid.pk}/accept/", payload, format="json", **headers)


def accepted(customer: User, bid: Bid) -> Payment:
    response = accept(customer, bid)
    assert response.status_code == 201, response.content
    return Payment.objects.get(job_id=bid.job_id)


def paid(customer: User, tradesperson: User, bid: Bid) -> Payment:
    """Accepted, started, completed through the API, then collected as the payments consumer would."""
    accepted(customer, bid)
    api = client_for(tradesperson)
    assert api.post(f"/api/jobs/{bid.job_id}/start/").json()["status"] == "in_progress"
    assert api.post(f"/api/jobs/{bid.job_id}/complete/").json()["status"] == "completed"
    payment_collect(job_id=bid.job_id)
    run_payments_executor()
    return Payment.objects.get(job_id=bid.job_id)


def deposit_holds(job_id: int) -> int:
    return Op.objects.filter(job_id=job_id, kind=Op.Kind.AUTHORIZE_DEPOSIT).count()


# --- accepting -------------------------------------------------------------------------------------


def test_accepting_holds_the_deposit_and_awards_the_job(job: Job, bid: Bid, customer: User) -> None:
    response = accept(customer, bid, expected_total="144.00")
    assert response.status_code == 201, response.content
    acceptance, payment = response.json()["acceptance"], response.json()["payment"]
    assert (acceptance["version"], acceptance["tier"], acceptance["total"], acceptance["deposit"], acceptance["balance"]) == (
        1,
        "standard",
        "144.00",
        "28.80",
        "115.20",
    )
    assert (acceptance["platform_fee"], acceptance["payout"]) == (None, None)
    assert (payment["status"], payment["held"], payment["captured"], payment["invoice_url"]) == ("deposit_held", "28.80", "0.00", None)
    assert payment["invoice_pdf_url"] is None
    assert [(op["kind"], op["amount"], op["status"], op["card_token"]) for op in payment["operations"]] == [
        ("authorize_deposit", "28.80", "succeeded", None)
    ]
    assert Job.objects.get().status == "awarded" and Bid.objects.get().status == "accepted"


@pytest.mark.parametrize("key", ["", "accept-7f3a"])
def test_accepting_twice_holds_one_deposit_and_answers_the_same(job: Job, bid: Bid, customer: User, key: str) -> None:
    first = accept(customer, bid, key)
    second = accept(customer, bid, key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert deposit_holds(job.pk) == 1 and Payment.objects.count() == 1


def test_a_declined_card_leaves_the_job_open(job: Job, bid: Bid, customer: User) -> None:
    before = state()
    response = accept(customer, bid, card_token="tok_decline")
    assert (response.status_code, error_code(response)) == (402, "card_declined")
    after = state()
    # Only the decline was recorded (payment.failed, for staff); the job, the bids and the quote are as they were.
    assert {k: v for k, v in after.items() if k != "counts"} == {k: v for k, v in before.items() if k != "counts"}
    assert after["counts"]["OutboxEvent"] == before["counts"]["OutboxEvent"] + 1
    assert not Payment.objects.exists() and Op.objects.get().status == "declined"
    assert Job.objects.get().status == "open" and Bid.objects.get().status == "active"
    # Another card then works.
    assert accept(customer, bid, card_token="tok_visa").status_code == 201


def test_a_card_number_is_refused_and_never_repeated_or_logged(
    job: Job, bid: Bid, customer: User, caplog: pytest.LogCaptureFixture
) -> None:
    before = state()
    with caplog.at_level(logging.DEBUG):
        for token in (CARD_NUMBER, "4242424242424242", "4000-0566-5566-5556"):
            response = accept(customer, bid, card_token=token)
            assert (response.status_code, error_code(response)) == (400, "card_number_sent")
            assert list(response.json()["error"]["fields"]) == ["card_token"]
            for shown in (token, token.replace(" ", "").replace("-", ""), "4242"):
                assert shown not in response.content.decode()
    assert "4242" not in caplog.text and "5556" not in caplog.text
    assert state() == before and not Op.objects.exists()


def test_a_stale_or_changed_quote_is_a_conflict(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    revised = client_for(tradesperson).patch(f"/api/bids/{bid.pk}/", {"amount": "130"}, format="json")
    assert revised.status_code == 200
    before = state()
    for body, code in (
        ({"version": 1}, "quote_changed"),
        ({"version": 2, "expected_total": "144.00"}, "total_changed"),
        ({"version": 2, "tier": "best"}, "no_such_option"),
    ):
        response = accept(customer, bid, **body)
        assert error_code(response) == code, response.content
        assert response.status_code == (400 if code == "no_such_option" else 409)
    # A version whose validity has passed (written directly: the service refuses a past date).
    stale = QuoteVersion.objects.create(bid=bid, number=3, valid_until=timezone.localdate() - timedelta(days=1))
    option = QuoteOption.objects.filter(version__bid=bid, version__number=2).values(
        "subtotal", "discounts_total", "net", "tax", "total", "platform_fee", "payout", "deposit", "balance"
    )[0]
    QuoteOption.objects.create(version=stale, **option)
    response = accept(customer, bid, version=3)
    assert (response.status_code, error_code(response)) == (409, "quote_expired")
    assert state() == before and not Op.objects.exists()


def test_after_acceptance_another_bid_is_already_accepted(job: Job, bid: Bid, customer: User) -> None:
    rival = make_pro("trade_z")
    offer(job, rival)
    other = quote_submit(job=job, tradesperson=rival, quote=single_line_quote(D("99.00"))).bid
    accepted(customer, bid)
    response = accept(customer, other)
    assert (response.status_code, error_code(response)) == (409, "already_accepted")
    assert deposit_holds(job.pk) == 1


def test_only_the_jobs_customer_accepts(job: Job, bid: Bid, other_customer: User, tradesperson: User, staff: User) -> None:
    before = state()
    for user, status, code in ((other_customer, 404, "not_found"), (tradesperson, 403, "forbidden"), (staff, 403, "forbidden")):
        response = accept(user, bid)
        assert (response.status_code, error_code(response)) == (status, code)
    assert (client_for(None).post(f"/api/bids/{bid.pk}/accept/", {}, format="json").status_code) == 403
    assert state() == before and not Op.objects.exists()


# --- the payment, per role -------------------------------------------------------------------------


def test_the_payment_as_each_party_sees_it(
    job: Job, bid: Bid, customer: User, other_customer: User, tradesperson: User, staff: User
) -> None:
    accepted(customer, bid)
    url = f"/api/jobs/{job.pk}/payment/"
    mine = client_for(customer).get(url).json()
    assert (mine["total"], mine["deposit"], mine["balance"], mine["held"], mine["platform_fee"], mine["payout"]) == (
        "144.00",
        "28.80",
        "115.20",
        "28.80",
        None,
        None,
    )
    theirs = client_for(tradesperson).get(url).json()
    assert (theirs["platform_fee"], theirs["payout"], theirs["operations"][0]["card_token"]) == ("12.00", "108.00", None)
    assert client_for(staff).get(url).json()["operations"][0]["card_token"] == "tok_visa"
    assert "tok_visa" not in client_for(customer).get(url).content.decode()
    assert client_for(other_customer).get(url).status_code == 404
    assert client_for(make_pro("trade_y")).get(url).status_code == 404


def test_a_job_without_an_accepted_quote_has_no_payment(job: Job, bid: Bid, customer: User) -> None:
    response = client_for(customer).get(f"/api/jobs/{job.pk}/payment/")
    assert (response.status_code, error_code(response)) == (404, "not_found")


def test_start_complete_and_collect(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    accepted(customer, bid)
    before = state()
    for path in ("start", "complete"):
        response = client_for(customer).post(f"/api/jobs/{job.pk}/{path}/")
        assert (response.status_code, error_code(response)) == (403, "forbidden")
    response = client_for(tradesperson).post(f"/api/jobs/{job.pk}/complete/")
    assert (response.status_code, error_code(response)) == (409, "illegal_transition")
    assert state() == before
    api = client_for(tradesperson)
    assert api.post(f"/api/jobs/{job.pk}/start/").json()["status"] == "in_progress"
    assert api.post(f"/api/jobs/{job.pk}/complete/").json()["status"] == "completed"
    assert payment_collect(job_id=job.pk) is not None
    run_payments_executor()
    body = client_for(customer).get(f"/api/jobs/{job.pk}/payment/").json()
    assert (body["status"], body["captured"], body["held"], body["invoice_url"]) == ("paid", "144.00", "0.00", f"/jobs/{job.pk}/invoice/")
    assert body["invoice_pdf_url"] == f"/jobs/{job.pk}/invoice.pdf"
    assert [op["kind"] for op in body["operations"]] == ["authorize_deposit", "capture_deposit", "authorize_balance", "capture_balance"]


def test_the_awarded_tradesperson_may_cancel(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    accepted(customer, bid)
    response = client_for(tradesperson).post(f"/api/jobs/{job.pk}/cancel/", {"reason": "Van broke down"}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


# --- paying a failed balance -----------------------------------------------------------------------


def test_paying_a_failed_balance_with_another_card(job: Job, bid: Bid, customer: User, tradesperson: User, other_customer: User) -> None:
    accepted(customer, bid)
    # The card stops working between acceptance and completion (set directly: no test token does that by itself).
    Payment.objects.filter(job=job).update(card_token="tok_insufficient_funds")
    api = client_for(tradesperson)
    api.post(f"/api/jobs/{job.pk}/start/")
    api.post(f"/api/jobs/{job.pk}/complete/")
    payment_collect(job_id=job.pk)
    run_payments_executor()
    assert Payment.objects.get(job=job).status == "balance_failed"

    url = f"/api/jobs/{job.pk}/payment/pay-balance/"
    assert client_for(other_customer).post(url, {"card_token": "tok_visa"}, format="json").status_code == 404
    response = client_for(tradesperson).post(url, {"card_token": "tok_visa"}, format="json")
    assert (response.status_code, error_code(response)) == (403, "forbidden")
    response = client_for(customer).post(url, {"card_token": CARD_NUMBER}, format="json")
    assert (response.status_code, error_code(response)) == (400, "card_number_sent") and "4242" not in response.content.decode()
    response = client_for(customer).post(url, {"card_token": "tok_decline"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert (response.status_code, error_code(response)) == (402, "card_declined")

    response = client_for(customer).post(url, {"card_token": "tok_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["captured"]) == ("paid", "144.00")
    again = client_for(customer).post(url, {"card_token": "tok_visa"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")
    assert (again.status_code, error_code(again)) == (409, "nothing_due")
    assert Op.objects.filter(job=job, kind=Op.Kind.CAPTURE_BALANCE, status=Op.Status.SUCCEEDED).count() == 1


# --- refunds ---------------------------------------------------------------------------------------


def refund(user: User, payment: Payment, amount: str, key: str | None) -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body = {"amount": amount, "reason": "Tap still drips"}
    return client_for(user).post(f"/api/payments/{payment.pk}/refunds/", body, format="json", **headers)


def test_staff_refund_part_then_the_rest(job: Job, bid: Bid, customer: User, tradesperson: User, staff: User) -> None:
    payment = paid(customer, tradesperson, bid)
    response = refund(staff, payment, "44.00", "r-1")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["refunded"]) == ("partially_refunded", "44.00")
    # The same key again refunds nothing more.
    again = refund(staff, payment, "44.00", "r-1")
    assert (again.status_code, again.json()["refunded"]) == (200, "44.00")
    assert Op.objects.filter(payment=payment, kind=Op.Kind.REFUND).count() == 1
    over = refund(staff, payment, "100.01", "r-2")
    assert (over.status_code, error_code(over)) == (400, "exceeds_refundable")
    rest = refund(staff, payment, "100.00", "r-3")
    assert (rest.status_code, rest.json()["status"], rest.json()["refunded"]) == (200, "refunded", "144.00")
    assert [op["kind"] for op in rest.json()["operations"]][-1] == "refund"


def test_refunds_need_staff_a_key_and_a_valid_amount(job: Job, bid: Bid, customer: User, tradesperson: User, staff: User) -> None:
    payment = paid(customer, tradesperson, bid)
    for user in (customer, tradesperson):
        response = refund(user, payment, "10.00", "r-1")
        assert (response.status_code, error_code(response)) == (403, "staff_only")
    assert error_code(refund(None, payment, "10.00", "r-1")) == "not_authenticated"  # type: ignore[arg-type]
    response = refund(staff, payment, "10.00", None)
    assert (response.status_code, error_code(response)) == (400, "idempotency_key_required")
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    for amount in ("0", "-5", "1.234", "abc"):
        response = refund(staff, payment, amount, "r-2")
        assert (response.status_code, error_code(response)) == (400, "validation_error")
    response = client_for(staff).post(
        "/api/payments/999999/refunds/", {"amount": "1", "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 404
    assert Payment.objects.get(pk=payment.pk).refunded == D("0.00") and not Op.objects.filter(kind=Op.Kind.REFUND).exists()


def test_a_payment_with_a_held_deposit_cannot_be_refunded(job: Job, bid: Bid, customer: User, staff: User) -> None:
    payment = accepted(customer, bid)
    response = refund(staff, payment, "10.00", "r-1")
    assert (response.status_code, error_code(response)) == (409, "not_refundable")


# --- webhooks --------------------------------------------------------------------------------------

WEBHOOK_URL = "/api/payments/webhooks/simulated/"


def webhook(event: dict[str, Any], *, at: int | None = None, secret: str | None = None, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(event).encode()
    signature = sign_webhook(body, secret or settings.PAYMENTS["WEBHOOK_SECRET"], int(time.time()) if at is None else at)
    return client_for(None).generic("POST", WEBHOOK_URL, body.decode(), content_type="application/json", HTTP_GATEWAY_SIGNATURE=signature)


def refunded_event(charge_id: str, amount: str, event_id: str = "evt_ext_1") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {"charge_id": charge_id, "refund_id": f"re_{event_id}", "amount": amount},
    }


def charge_id(payment: Payment) -> str:
    return Op.objects.filter(payment=payment, kind=Op.Kind.CAPTURE_BALANCE).get().gateway_id


def test_forged_stale_and_malformed_webhooks_are_rejected(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    payment = paid(customer, tradesperson, bid)
    event = refunded_event(charge_id(payment), "10.00")
    for response, code in (
        (webhook(event, secret="not-the-secret"), "bad_signature"),
        (webhook(event, at=int(time.time()) - 3600), "too_old"),
        (webhook(event, raw=b"{not json"), "bad_json"),
        (client_for(None).post(WEBHOOK_URL, event, format="json"), "bad_header"),
    ):
        assert (response.status_code, error_code(response)) == (400, code)
    assert not GatewayWebhook.objects.exists() and Payment.objects.get(pk=payment.pk).refunded == D("0.00")


def test_a_duplicate_webhook_changes_nothing_twice(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    payment = paid(customer, tradesperson, bid)
    event = refunded_event(charge_id(payment), "10.00")
    first, second = webhook(event), webhook(event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["outcome"] == "refund of 10.00 recorded"
    assert "already" in second.json()["outcome"]
    payment.refresh_from_db()
    assert (payment.refunded, payment.status) == (D("10.00"), "partially_refunded")
    assert Op.objects.filter(payment=payment, kind=Op.Kind.REFUND).count() == 1 and GatewayWebhook.objects.count() == 1


def test_a_refund_webhook_before_its_capture_is_recorded_is_retried(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    payment = paid(customer, tradesperson, bid)
    capture = Op.objects.get(payment=payment, kind=Op.Kind.CAPTURE_BALANCE)
    # The gateway's webhook overtakes our record of the capture: the operation is still pending on our side.
    Op.objects.filter(pk=capture.pk).update(status=Op.Status.PENDING)
    event = refunded_event(capture.gateway_id, "20.00", "evt_early")
    body = json.dumps(event).encode()
    early = webhook(event, raw=body)
    assert (early.status_code, error_code(early)) == (409, "not_ready")
    assert not GatewayWebhook.objects.exists() and Payment.objects.get(pk=payment.pk).refunded == D("0.00")
    Op.objects.filter(pk=capture.pk).update(status=Op.Status.SUCCEEDED)
    retried = webhook(event, raw=body)
    assert retried.status_code == 200, retried.content
    assert Payment.objects.get(pk=payment.pk).refunded == D("20.00")


def test_the_webhook_needs_no_session_or_csrf_token(job: Job, bid: Bid, customer: User, tradesperson: User) -> None:
    from django.test import Client

    payment = paid(customer, tradesperson, bid)
    body = json.dumps(refunded_event(charge_id(payment), "5.00")).encode()
    signature = sign_webhook(body, settings.PAYMENTS["WEBHOOK_SECRET"], int(time.time()))
    response = Client(enforce_csrf_checks=True).post(WEBHOOK_URL, body, content_type="application/json", HTTP_GATEWAY_SIGNATURE=signature)
    assert response.status_code == 200, response.content


# --- finance ---------------------------------------------------------------------------------------


def test_finance_is_for_staff(customer: User, tradesperson: User, staff: User) -> None:
    response = client_for(staff).get("/api/finance/")
    assert response.status_code == 200
    assert set(response.json()) == {"totals", "open_payments"}
    assert response.json()["totals"]["open_payments"] == 0
    for user in (customer, tradesperson):
        response = client_for(user).get("/api/finance/")
        assert (response.status_code, error_code(response)) == (403, "staff_only")
