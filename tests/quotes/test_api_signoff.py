"""Signing off the finished work over the API: approve with a tip, report a problem; errors in the usual shape."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from payments.approval import payment_request_approval
from payments.models import Dispute, Payment
from quotes.services import quote_submit, single_line_quote
from tests.factories import make_profile, make_user, offer, post_job
from tests.helpers import client_for, error_code

from .test_api_payments import accepted

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def job(customer: User, tradesperson: User) -> Job:
    make_profile(tradesperson)
    job = post_job(customer)
    offer(job, tradesperson)
    return job


@pytest.fixture
def bid(job: Job, tradesperson: User) -> Bid:
    return quote_submit(job=job, tradesperson=tradesperson, quote=single_line_quote(D("120.00"))).bid  # 144.00 with VAT


def completed(customer: User, tradesperson: User, bid: Bid) -> Payment:
    """Accepted, started and completed through the API; the payments consumer's step done directly."""
    payment = accepted(customer, bid)
    api = client_for(tradesperson)
    assert api.post(f"/api/jobs/{bid.job_id}/start/").status_code == 200
    assert api.post(f"/api/jobs/{bid.job_id}/complete/").status_code == 200
    assert payment_request_approval(job_id=bid.job_id, completed_at=payment.created_at) is not None
    return Payment.objects.get(pk=payment.pk)


def test_the_customer_approves_with_a_tip(customer: User, tradesperson: User, bid: Bid) -> None:
    completed(customer, tradesperson, bid)
    seen = client_for(customer).get(f"/api/jobs/{bid.job_id}/payment/").json()
    assert seen["status"] == "awaiting_approval" and seen["approval_due_at"]
    response = client_for(customer).post(f"/api/jobs/{bid.job_id}/payment/approve/", {"tip": "15.00"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["tip"], body["approved_automatically"]) == ("completing", "15.00", False)


def test_only_the_customer_may_sign_off_and_others_never_learn_of_the_job(
    customer: User, other_customer: User, tradesperson: User, bid: Bid
) -> None:
    completed(customer, tradesperson, bid)
    url = f"/api/jobs/{bid.job_id}/payment/"
    for path, body in (("approve/", {}), ("dispute/", {"description": "The tap still drips."})):
        forbidden = client_for(tradesperson).post(url + path, body, format="json")
        assert (forbidden.status_code, error_code(forbidden)) == (403, "forbidden")
        assert client_for(other_customer).post(url + path, body, format="json").status_code == 404
        staff = client_for(make_user(f"staff_{path[:3]}", is_staff=True)).post(url + path, body, format="json")
        assert staff.status_code == 403
    assert Payment.objects.get(job_id=bid.job_id).status == "awaiting_approval"


def test_refusals_are_sentences_in_the_error_shape(customer: User, tradesperson: User, bid: Bid) -> None:
    accepted(customer, bid)
    api = client_for(customer)
    early = api.post(f"/api/jobs/{bid.job_id}/payment/approve/", {}, format="json")
    assert (early.status_code, error_code(early)) == (409, "not_awaiting_approval")
    assert "hasn't been marked completed" in early.json()["error"]["message"]
    api_pro = client_for(tradesperson)
    api_pro.post(f"/api/jobs/{bid.job_id}/start/")
    api_pro.post(f"/api/jobs/{bid.job_id}/complete/")
    payment_request_approval(job_id=bid.job_id, completed_at=Payment.objects.get(job_id=bid.job_id).created_at)
    big = api.post(f"/api/jobs/{bid.job_id}/payment/approve/", {"tip": "500.00"}, format="json")
    assert (big.status_code, error_code(big)) == (400, "tip_too_large")
    assert big.json()["error"]["message"] == "The most you can tip on this job is £72.00."
    negative = api.post(f"/api/jobs/{bid.job_id}/payment/approve/", {"tip": "-1"}, format="json")
    assert negative.status_code == 400
    short = api.post(f"/api/jobs/{bid.job_id}/payment/dispute/", {"description": "bad"}, format="json")
    assert (short.status_code, error_code(short)) == (400, "description_required")


def test_the_customer_reports_a_problem(customer: User, tradesperson: User, bid: Bid) -> None:
    completed(customer, tradesperson, bid)
    api = client_for(customer)
    response = api.post(f"/api/jobs/{bid.job_id}/payment/dispute/", {"description": "The tap still drips after the visit."}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "disputed"
    dispute = Dispute.objects.get(job_id=bid.job_id)
    assert dispute.description == "The tap still drips after the visit." and dispute.opened_by == customer
    again = api.post(f"/api/jobs/{bid.job_id}/payment/approve/", {}, format="json")
    assert (again.status_code, error_code(again)) == (409, "not_awaiting_approval")
