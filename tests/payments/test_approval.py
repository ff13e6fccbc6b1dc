"""Sign-off (payments/approval.py) through the real services, the simulated gateway and Postgres.

Completion asks the customer to approve (with an optional tip) or report a problem; silence approves
once the window ends; staff resolve a problem with a release or a refund. ``payment_collect`` (run by
the ``payments`` consumer in production, called directly here) then charges price + tip - reduction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from payments import approval
from payments.models import Dispute, Payment, PaymentOperation
from payments.services import payment_collect
from quotes.models import QuoteAcceptance
from tests.helpers import run_payments_executor
from tests.quotes.test_payments import booked

pytestmark = pytest.mark.django_db
D = Decimal
Op = PaymentOperation
COMPLETED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def collect(job: Job) -> Payment:
    """What follows payment.approved / payment.dispute_resolved: the payments consumer records the intent, the executor charges."""
    assert payment_collect(job_id=job.pk) is not None
    run_payments_executor()
    return Payment.objects.get(job=job)


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("resolver", password="pw-123456-x", is_staff=True)


def completed(customer: User, name: str = "bobsign") -> tuple[Job, User, QuoteAcceptance, Payment]:
    job, bob, acceptance = booked(customer, name=name)
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    payment = approval.payment_request_approval(job_id=job.pk, completed_at=COMPLETED_AT)
    assert payment is not None
    return job, bob, acceptance, payment


def events(job: Job, event_type: str) -> list[dict]:
    return [row.envelope["data"] for row in OutboxEvent.objects.filter(key=str(job.pk), event_type=event_type).order_by("id")]


def test_completion_only_asks_for_approval_and_charges_nothing(customer):
    job, _, acceptance, payment = completed(customer)
    assert payment.status == Payment.Status.AWAITING_APPROVAL
    assert payment.approval_due_at == COMPLETED_AT + timedelta(hours=48)
    assert payment.held == acceptance.deposit and payment.captured == 0
    assert not Op.objects.filter(payment=payment).exclude(kind=Op.Kind.AUTHORIZE_DEPOSIT).exists()
    [asked] = events(job, "payment.approval_requested")
    assert asked["approval_due_at"] == "2026-03-04T09:00:00Z" and asked["amount"] == str(acceptance.total)
    # A redelivered completion changes nothing (same deadline, no second event).
    assert approval.payment_request_approval(job_id=job.pk, completed_at=COMPLETED_AT + timedelta(hours=1)) is None
    assert len(events(job, "payment.approval_requested")) == 1


def test_the_customer_approves_with_a_tip_that_goes_entirely_to_the_tradesperson(customer):
    job, _, acceptance, payment = completed(customer)
    approved = approval.payment_approve(payment=payment, actor=customer, tip=D("12.50"))
    assert approved.status == Payment.Status.COMPLETING and approved.tip == D("12.50") and not approved.approved_automatically
    [event] = events(job, "payment.approved")
    assert (event["tip"], event["automatically"], event["amount"]) == ("12.50", False, str(acceptance.total + D("12.50")))
    # A double click with the same tip is harmless.
    assert approval.payment_approve(payment=payment, actor=customer, tip=D("12.50")).status == Payment.Status.COMPLETING

    paid = collect(job)
    assert paid is not None and paid.status == Payment.Status.PAID
    assert paid.captured == acceptance.total + D("12.50")
    assert paid.platform_revenue == acceptance.platform_fee  # no fee on the tip
    assert paid.payout_due == acceptance.total - acceptance.platform_fee + D("12.50")
    assert payment_collect(job_id=job.pk) is None  # a redelivered approval moves no money twice


def test_only_the_customer_may_approve_or_dispute_and_tips_are_bounded(customer, other_customer):
    _, bob, acceptance, payment = completed(customer)
    for actor in (bob, other_customer):
        with pytest.raises(ServiceError) as refused:
            approval.payment_approve(payment=payment, actor=actor)
        assert refused.value.code == "forbidden" and "Only the customer" in refused.value.message
        with pytest.raises(ServiceError) as refused:
            approval.payment_dispute(payment=payment, actor=actor, description="The tap still drips badly.")
        assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as refused:
        approval.payment_approve(payment=payment, actor=customer, tip=D("-1"))
    assert refused.value.code == "bad_tip"
    limit = approval.tip_limit(payment)
    assert limit == (acceptance.total / 2).quantize(D("0.01"))
    with pytest.raises(ServiceError) as refused:
        approval.payment_approve(payment=payment, actor=customer, tip=limit + D("0.01"))
    assert refused.value.code == "tip_too_large" and f"£{limit:,.2f}" in refused.value.message
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AWAITING_APPROVAL and payment.tip == 0


def test_nothing_to_approve_before_the_work_is_completed(customer):
    job, _, _ = booked(customer, name="bobearly")
    payment = Payment.objects.get(job=job)
    with pytest.raises(ServiceError) as refused:
        approval.payment_approve(payment=payment, actor=customer)
    assert refused.value.code == "not_awaiting_approval" and "hasn't been marked completed" in refused.value.message


def test_silence_approves_once_the_window_ends(customer):
    job, _, acceptance, payment = completed(customer)
    with time_machine.travel(COMPLETED_AT + timedelta(hours=47, minutes=59), tick=False):
        assert approval.payments_auto_approve() == 0
    with time_machine.travel(COMPLETED_AT + timedelta(hours=48), tick=False):
        assert approval.payments_auto_approve() == 1
        assert approval.payments_auto_approve() == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.COMPLETING and payment.approved_automatically and payment.tip == 0
    [event] = events(job, "payment.approved")
    assert event["automatically"] is True
    paid = collect(job)
    assert paid is not None and paid.captured == acceptance.total and paid.status == Payment.Status.PAID


def test_a_problem_can_be_reported_within_the_window_only(customer):
    job, _, _, payment = completed(customer)
    with time_machine.travel(COMPLETED_AT + timedelta(hours=49), tick=False), pytest.raises(ServiceError) as refused:
        approval.payment_dispute(payment=payment, actor=customer, description="The tap still drips badly.")
    assert refused.value.code == "window_closed" and "time to report a problem has ended" in refused.value.message

    with time_machine.travel(COMPLETED_AT + timedelta(hours=2), tick=False):
        with pytest.raises(ServiceError) as refused:
            approval.payment_dispute(payment=payment, actor=customer, description="bad")
        assert refused.value.code == "description_required"
        dispute = approval.payment_dispute(payment=payment, actor=customer, description="The tap still drips badly.")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.DISPUTED and dispute.status == Dispute.Status.OPEN
    [event] = events(job, "payment.disputed")
    assert event["dispute_id"] == dispute.pk and "description" not in event  # the customer's words stay with staff
    # Disputed: the clock leaves it alone, and the customer can no longer approve.
    with time_machine.travel(COMPLETED_AT + timedelta(hours=60), tick=False):
        assert approval.payments_auto_approve() == 0
    with pytest.raises(ServiceError) as refused:
        approval.payment_approve(payment=payment, actor=customer)
    assert "reported a problem" in refused.value.message
    assert payment_collect(job_id=job.pk) is None  # nothing is charged while disputed


def _disputed(customer: User, name: str) -> tuple[Job, QuoteAcceptance, Dispute]:
    job, _, acceptance, payment = completed(customer, name=name)
    with time_machine.travel(COMPLETED_AT + timedelta(hours=1), tick=False):
        dispute = approval.payment_dispute(payment=payment, actor=customer, description="The tap still drips badly.")
    return job, acceptance, dispute


def test_staff_release_charges_the_full_price(customer, staff):
    job, acceptance, dispute = _disputed(customer, "bobrelease")
    with pytest.raises(ServiceError) as refused:
        approval.dispute_resolve(dispute=dispute, actor=customer, outcome="release")
    assert refused.value.code == "forbidden"
    resolved = approval.dispute_resolve(dispute=dispute, actor=staff, outcome="release", note="Photos show the job done.")
    assert resolved.status == Dispute.Status.RESOLVED and resolved.resolved_by == staff and resolved.amount == 0
    paid = collect(job)
    assert paid is not None and paid.status == Payment.Status.PAID and paid.captured == acceptance.total
    with pytest.raises(ServiceError) as refused:
        approval.dispute_resolve(dispute=dispute, actor=staff, outcome="full_refund")
    assert refused.value.code == "already_resolved"


def test_staff_partial_refund_charges_less_and_shares_the_fee(customer, staff):
    job, acceptance, dispute = _disputed(customer, "bobpartial")
    for bad in (D("0"), acceptance.total, D("1.234")):
        with pytest.raises(ServiceError) as refused:
            approval.dispute_resolve(dispute=dispute, actor=staff, outcome="partial_refund", amount=bad)
        assert refused.value.code == "bad_amount"
    approval.dispute_resolve(dispute=dispute, actor=staff, outcome="partial_refund", amount=D("50.00"), note="Half the tiles")
    [event] = events(job, "payment.dispute_resolved")
    assert (event["resolution"], event["amount"], event["note"]) == ("partial_refund", "50.00", "Half the tiles")
    paid = collect(job)
    assert paid is not None and paid.status == Payment.Status.PARTIALLY_REFUNDED
    charged = acceptance.total - D("50.00")
    assert paid.captured == charged and paid.held == 0 and paid.refunded == 0
    fee = (acceptance.platform_fee * charged / acceptance.total).quantize(D("0.01"))
    assert paid.platform_revenue == fee and paid.payout_due == charged - fee


def test_staff_full_refund_releases_the_hold_and_charges_nothing(customer, staff):
    job, acceptance, dispute = _disputed(customer, "bobfull")
    approval.dispute_resolve(dispute=dispute, actor=staff, outcome="full_refund")
    paid = collect(job)
    assert paid is not None and paid.status == Payment.Status.REFUNDED
    assert (paid.held, paid.captured, paid.platform_revenue, paid.payout_due) == (0, 0, 0, 0)
    ops = list(Op.objects.filter(payment=paid).values_list("kind", "amount", "status"))
    assert ops == [("authorize_deposit", acceptance.deposit, "succeeded"), ("void_deposit", acceptance.deposit, "succeeded")]
    assert payment_collect(job_id=job.pk) is None
    assert timezone.now()  # the clock is real again outside the travels
