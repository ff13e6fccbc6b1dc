"""Money through the real services, the simulated gateway and Postgres: collect, cancel, refund, webhooks, reconcile.

In production the ``payments`` consumer calls payment_collect / payment_cancel from job events;
here they are called directly (the consumer path is tests/quotes/test_payment_pipeline.py).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from payments import services as payments
from payments.models import GatewayWebhook, Payment, PaymentOperation
from payments.webhooks import WebhookRejected, sign_webhook
from quotes.models import PromoCode, QuoteAcceptance
from tests.factories import offer, post_job, pro
from tests.helpers import run_payments_executor

from .helpers import accept, submit

pytestmark = pytest.mark.django_db
D = Decimal
Op = PaymentOperation


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("finance", password="pw-123456-x", is_staff=True)


def booked(customer: User, *, window_in: timedelta | None = None, name: str = "bobpay") -> tuple[Job, User, QuoteAcceptance]:
    now = timezone.now()
    extra = {"window_start": now + window_in, "window_end": now + window_in + timedelta(hours=2)} if window_in else {}
    job = post_job(customer, **extra)
    bob = pro(name)
    offer(job, bob)
    acceptance = accept(submit(job, bob), customer)
    return job, bob, acceptance


def finish(job: Job, bob: User) -> Payment:
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    collected = payments.payment_collect(job_id=job.pk)
    assert collected is not None and collected.status == Payment.Status.COMPLETING
    run_payments_executor()
    return Payment.objects.select_related("acceptance").get(pk=collected.pk)


def cancel(job: Job, *, cancelled_at: datetime, by_customer: bool) -> Payment:
    intent = payments.payment_cancel(job_id=job.pk, cancelled_at=cancelled_at, by_customer=by_customer)
    assert intent is not None
    run_payments_executor()
    return Payment.objects.select_related("acceptance").get(pk=intent.pk)


def settled_tombstones(payment: Payment) -> int:
    return OutboxEvent.objects.filter(
        topic="marketplace.payments", key=str(payment.pk), event_type="payment.settled", tombstone=True
    ).count()


def test_completion_collects_the_total_and_owes_the_payout(customer):
    job, bob, acceptance = booked(customer)
    payment = finish(job, bob)
    assert payment.status == Payment.Status.PAID
    assert (payment.held, payment.captured, payment.refunded) == (D("0.00"), acceptance.total, D("0.00"))
    assert payment.platform_revenue == acceptance.platform_fee == D("14.50")
    # Owed until a payout run pays it (payments/payouts.py; tests/payments/test_payouts.py).
    assert payment.payout_due == acceptance.total - acceptance.platform_fee and payment.payout_paid == 0
    kinds = list(Op.objects.filter(payment=payment).values_list("kind", "amount", "status"))
    assert kinds == [
        ("authorize_deposit", D("34.80"), "succeeded"),
        ("capture_deposit", D("34.80"), "succeeded"),
        ("authorize_balance", D("139.20"), "succeeded"),
        ("capture_balance", D("139.20"), "succeeded"),
    ]
    assert settled_tombstones(payment) == 0  # the tradesperson is still owed
    # Redelivery of the completion event moves nothing.
    assert payments.payment_collect(job_id=job.pk) is None
    assert Op.objects.filter(payment=payment).count() == 4


def test_cancelling_within_five_minutes_is_free(customer):
    job, _, acceptance = booked(customer, window_in=timedelta(hours=3))
    job_services.job_cancel(job=job, actor=customer)
    payment = cancel(job, cancelled_at=acceptance.accepted_at + timedelta(minutes=4), by_customer=True)
    assert payment.status == Payment.Status.CANCELLED
    assert (payment.held, payment.captured, payment.cancellation_fee) == (D("0.00"), D("0.00"), D("0.00"))
    assert Op.objects.filter(payment=payment, kind="void_deposit", status="succeeded").count() == 1
    assert settled_tombstones(payment) == 1


def test_a_late_cancellation_costs_half_the_deposit_split_with_the_platform(customer):
    job, _, acceptance = booked(customer, window_in=timedelta(hours=20))
    job_services.job_cancel(job=job, actor=customer)
    payment = cancel(job, cancelled_at=acceptance.accepted_at + timedelta(minutes=30), by_customer=True)
    assert payment.cancellation_fee == payment.captured == D("17.40")  # 50 % of 34.80
    # The platform keeps the same share of the fee as of the quote: 17.40 x 14.50 / 174.00 = 1.45.
    assert payment.platform_revenue == D("1.45") and payment.payout_due == D("15.95") and payment.payout_paid == 0


def test_the_tradesperson_cancelling_is_always_free_for_the_customer(customer):
    job, bob, acceptance = booked(customer, window_in=timedelta(hours=2))
    job_services.job_cancel(job=job, actor=bob)
    payment = cancel(job, cancelled_at=acceptance.accepted_at + timedelta(hours=1), by_customer=False)
    assert payment.captured == 0 and payment.cancellation_fee == 0


def test_refunds_partial_then_the_rest_never_more(customer, staff):
    job, bob, _ = booked(customer)
    payment = finish(job, bob)
    payment = payments.payment_refund(payment=payment, actor=staff, amount=D("150.00"), reason="Partly redone", idempotency_key="r1")
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED and payment.refunded == D("150.00")
    # Same key again: nothing more moves.
    payment = payments.payment_refund(payment=payment, actor=staff, amount=D("150.00"), reason="Partly redone", idempotency_key="r1")
    assert payment.refunded == D("150.00")
    # 150 spans two charges (balance 139.20 first, then 10.80 of the deposit).
    assert sorted(Op.objects.filter(payment=payment, kind="refund").values_list("amount", flat=True)) == [D("10.80"), D("139.20")]
    with pytest.raises(ServiceError) as err:
        payments.payment_refund(payment=payment, actor=staff, amount=D("24.01"), reason="too much", idempotency_key="r2")
    assert err.value.code == "exceeds_refundable"
    payment = payments.payment_refund(payment=payment, actor=staff, amount=D("24.00"), reason="rest", idempotency_key="r3")
    assert payment.status == Payment.Status.REFUNDED and payment.kept == 0
    assert payment.platform_revenue == 0 and payment.payout_paid == 0 and payment.payout_due == 0
    # Settled only once nothing is owed either way: after the last refund (nothing was paid out).
    assert settled_tombstones(payment) == 1
    with pytest.raises(ServiceError):
        payments.payment_refund(payment=payment, actor=customer, amount=D("1.00"), reason="", idempotency_key="r4")


def _webhook(event: dict[str, object], *, at: int | None = None, secret: str | None = None) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    return body, sign_webhook(body, secret or settings.PAYMENTS["WEBHOOK_SECRET"], at or int(timezone.now().timestamp()))


def test_webhooks_are_verified_recorded_once_and_applied_once(customer):
    job, bob, _ = booked(customer)
    payment = finish(job, bob)
    charge = Op.objects.get(payment=payment, kind="capture_balance").gateway_id
    event = {
        "id": "evt_1",
        "type": "charge.refunded",
        "created": 1,
        "data": {"charge_id": charge, "refund_id": "re_ext_1", "amount": "20.00"},
    }
    body, signature = _webhook(event)
    assert payments.webhook_receive(body=body, signature=signature) == "refund of 20.00 recorded"
    assert payments.webhook_receive(body=body, signature=signature).startswith("duplicate")
    # The same refund announced again under another event id (a replay by the provider) changes nothing.
    body2, signature2 = _webhook({**event, "id": "evt_2"})
    assert payments.webhook_receive(body=body2, signature=signature2).startswith("no change")
    payment.refresh_from_db()
    assert payment.refunded == D("20.00") and GatewayWebhook.objects.count() == 2
    with pytest.raises(WebhookRejected):
        payments.webhook_receive(body=body.replace(b"20.00", b"99.00"), signature=signature)
    stale_body, stale_signature = _webhook({**event, "id": "evt_3"}, at=int(timezone.now().timestamp()) - 3600)
    with pytest.raises(WebhookRejected):
        payments.webhook_receive(body=stale_body, signature=stale_signature)
    forged_body, forged_signature = _webhook({**event, "id": "evt_4"}, secret="not-the-secret")
    with pytest.raises(WebhookRejected):
        payments.webhook_receive(body=forged_body, signature=forged_signature)
    payment.refresh_from_db()
    assert payment.refunded == D("20.00") and GatewayWebhook.objects.count() == 2


def test_a_webhook_about_something_not_recorded_yet_is_refused_until_it_is(customer):
    body, signature = _webhook(
        {
            "id": "evt_early",
            "type": "charge.refunded",
            "created": 1,
            "data": {"charge_id": "sim_ch_unknown", "refund_id": "r", "amount": "1.00"},
        }
    )
    with pytest.raises(payments.WebhookNotReady):
        payments.webhook_receive(body=body, signature=signature)
    assert not GatewayWebhook.objects.exists()  # not recorded, so the provider's retry is processed


def test_a_hold_released_at_the_provider_is_charged_in_full_at_completion(customer):
    job, bob, acceptance = booked(customer)
    payment = Payment.objects.get(job=job)
    body, signature = _webhook(
        {"id": "evt_exp", "type": "authorization.expired", "created": 1, "data": {"authorization_id": payment.deposit_authorization_id}}
    )
    assert payments.webhook_receive(body=body, signature=signature).startswith("hold of 34.80 released")
    payment = finish(job, bob)
    assert payment.status == Payment.Status.PAID and payment.captured == acceptance.total
    assert not Op.objects.filter(payment=payment, kind="capture_deposit").exists()


def test_an_orphaned_hold_is_released_by_reconciliation(customer):
    job = post_job(customer)
    hold = payments.deposit_authorize(job=job, customer=customer, amount=D("20.00"), card_token="tok_visa", key="orphan-1")
    Op.objects.filter(pk=hold.operation_id or 0).update(created_at=timezone.now() - timedelta(minutes=10))
    assert payments.payments_reconcile() == 1
    assert Op.objects.filter(idempotency_key="orphan-1:void", status="succeeded").exists()
    assert payments.payments_reconcile() == 0


@pytest.mark.django_db(transaction=True)
def test_two_customers_racing_for_the_last_promo_use_exactly_one_gets_it() -> None:
    PromoCode.objects.create(code="LAST1", kind="percent", value=D("10"), max_uses=1)
    racers = []
    for i in range(2):
        customer = User.objects.create_user(f"racer{i}", role=User.Role.CUSTOMER)
        job = post_job(customer)
        bob = pro(f"racerpro{i}")
        offer(job, bob)
        racers.append((customer, submit(job, bob)))
    barrier = threading.Barrier(len(racers))
    outcomes: list[str] = []

    def run(customer: User, version: object) -> None:
        try:
            barrier.wait()
            accept(version, customer, promo_code="LAST1")  # type: ignore[arg-type]
            outcomes.append("accepted")
        except ServiceError as exc:
            outcomes.append(str(exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=racer) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "promo_exhausted"]
    assert PromoCode.objects.get(code="LAST1").uses == 1 and QuoteAcceptance.objects.count() == 1
    # The loser's deposit hold was released, not left on their card.
    assert Op.objects.filter(kind="void_deposit", status="succeeded").count() == 1
