"""The payments executor's state transitions, through the real services, the simulated gateway and Postgres.

Intent first (the consumer's transaction calls no gateway), then claim with a lease, the call, and a
second transaction that records the answer, applies it and writes the next step.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from gateway_simulator.models import Charge, IdempotencyReply
from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from marketplace.events.periodic import PERIODIC_TASKS
from payments import executor
from payments import services as payments
from payments.gateway import GatewayResult
from payments.models import Payment, PaymentOperation
from tests.quotes.test_payments import booked

pytestmark = pytest.mark.django_db
D = Decimal
Op = PaymentOperation


def completed(customer: User, *, name: str = "bobexec") -> tuple[Job, Payment]:
    job, bob, _ = booked(customer, name=name)
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    return job, Payment.objects.select_related("acceptance").get(job=job)


def events(payment: Payment, event_type: str) -> list[dict]:
    rows = OutboxEvent.objects.filter(event_type=event_type, envelope__data__payment_id=payment.pk).order_by("id")
    return [row.envelope["data"] for row in rows]


def test_collecting_records_an_intent_and_calls_no_gateway(customer):
    job, payment = completed(customer)
    replies = IdempotencyReply.objects.count()
    intent = payments.payment_collect(job_id=job.pk)
    assert intent is not None and intent.status == Payment.Status.COMPLETING
    assert IdempotencyReply.objects.count() == replies  # nothing asked of the gateway yet
    op = Op.objects.get(payment=payment, status=Op.Status.PENDING)
    assert (op.kind, op.amount, op.attempts, op.leased_until) == ("capture_deposit", payment.acceptance.deposit, 0, None)
    assert op.next_attempt_at is not None and op.next_attempt_at <= timezone.now()
    assert [e["status"] for e in events(payment, "payment.snapshot")][-1] == "completing"
    assert not events(payment, "payment.captured")
    # A redelivered completion finds it completing: no second intent.
    assert payments.payment_collect(job_id=job.pk) is None
    assert Op.objects.filter(payment=payment, status=Op.Status.PENDING).count() == 1


def test_the_executor_runs_the_chain_to_paid_each_step_once(customer):
    job, payment = completed(customer)
    payments.payment_collect(job_id=job.pk)
    assert executor.run_due() == 3  # capture the deposit, authorise the balance, capture it
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.captured == payment.acceptance.total and payment.held == 0
    steps = list(Op.objects.filter(payment=payment).exclude(kind="authorize_deposit").values_list("kind", "status", "attempts"))
    assert steps == [("capture_deposit", "succeeded", 1), ("authorize_balance", "succeeded", 1), ("capture_balance", "succeeded", 1)]
    assert [e["reason"] for e in events(payment, "payment.captured")] == ["Job completed"]
    assert events(payment, "payment.snapshot")[-1]["status"] == "paid"
    assert executor.run_due() == 0


def test_an_outage_backs_off_and_retries_with_the_same_key(customer):
    job, payment = completed(customer)
    payments.payment_collect(job_id=job.pk)
    payments.gateway().fail_next(1)  # type: ignore[attr-defined]
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        assert executor.run_due() == 1
    op = Op.objects.get(payment=payment, kind="capture_deposit")
    assert (op.status, op.attempts, op.leased_until) == ("pending", 1, None)
    assert op.next_attempt_at == now + timedelta(seconds=1) and op.last_error
    with time_machine.travel(now + timedelta(milliseconds=500), tick=False):
        assert executor.run_due() == 0  # not due yet
    with time_machine.travel(now + timedelta(seconds=2), tick=False):
        assert executor.run_due() == 3
    op.refresh_from_db()
    assert (op.status, op.attempts) == ("succeeded", 2)
    assert IdempotencyReply.objects.filter(key=op.idempotency_key).count() == 1
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PAID


def test_backoff_doubles_up_to_the_ceiling(settings):
    settings.PAYMENTS = {**settings.PAYMENTS, "EXECUTOR_BACKOFF_MAX_S": 60}
    assert [payments._backoff_s(n) for n in (1, 2, 3, 6, 7, 20)] == [1, 2, 4, 32, 60, 60]


def test_a_leased_operation_waits_for_its_lease_then_another_executor_finishes_it_once(customer):
    job, payment = completed(customer)
    payments.payment_collect(job_id=job.pk)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        crashed = executor.claim()  # an executor took it and died before (or after) calling
        assert crashed is not None and crashed.leased_until == now + timedelta(seconds=120)
        answer = executor.call_gateway(crashed)  # it even got the gateway's answer, and never recorded it
        assert executor.run_due() == 0  # the lease keeps everyone else off
    with time_machine.travel(now + timedelta(seconds=121), tick=False):
        assert executor.run_due() == 3
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.captured == payment.acceptance.total
    op = Op.objects.get(payment=payment, kind="capture_deposit")
    assert op.attempts == 2 and op.gateway_id == answer.gateway_id  # the same charge, asked twice with one key
    assert Charge.objects.filter(authorization_id=payment.deposit_authorization_id).count() == 1
    # The first executor wakes up and records its answer late: nothing changes.
    payments.payment_operation_record(operation=crashed, result=answer)
    assert Payment.objects.get(pk=payment.pk).captured == payment.captured
    assert len(events(payment, "payment.captured")) == 1


def test_a_declined_balance_ends_in_balance_failed_with_the_deposit_kept(customer):
    job, payment = completed(customer)
    Payment.objects.filter(pk=payment.pk).update(card_token="tok_decline")
    payments.payment_collect(job_id=job.pk)
    assert executor.run_due() == 2
    payment.refresh_from_db()
    assert payment.status == Payment.Status.BALANCE_FAILED and payment.captured == payment.acceptance.deposit
    assert [e["stage"] for e in events(payment, "payment.failed")] == ["balance"]
    assert [e["reason"] for e in events(payment, "payment.captured")] == ["Deposit"]


def test_a_request_the_gateway_refuses_for_good_is_failed_not_retried(customer):
    job, payment = completed(customer)
    Payment.objects.filter(pk=payment.pk).update(deposit_authorization_id="sim_auth_999999")
    payments.payment_collect(job_id=job.pk)
    assert executor.run_due() == 1
    op = Op.objects.get(payment=payment, kind="capture_deposit")
    assert (op.status, op.message) == ("failed", "unknown_authorization")
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.COMPLETING  # left for a person
    assert executor.run_due() == 0


def test_a_cancellation_fee_is_taken_by_the_executor(customer):
    job, _, acceptance = booked(customer, window_in=timedelta(hours=20), name="bobcancel")
    job_services.job_cancel(job=job, actor=customer)
    intent = payments.payment_cancel(job_id=job.pk, cancelled_at=acceptance.accepted_at + timedelta(minutes=30), by_customer=True)
    assert intent is not None and intent.status == Payment.Status.CANCELLING and intent.held == acceptance.deposit
    assert executor.run_due() == 1
    payment = Payment.objects.get(pk=intent.pk)
    assert payment.status == Payment.Status.CANCELLED and payment.captured == payment.cancellation_fee == D("17.40")
    assert [e["amount"] for e in events(payment, "payment.voided")] == ["17.40"]  # the rest of the hold


def test_a_refund_a_request_could_not_finish_is_finished_by_the_executor_after_the_lease(customer, staff):
    job, payment = completed(customer)
    payments.payment_collect(job_id=job.pk)
    executor.run_due()
    payments.gateway().fail_next(1)  # type: ignore[attr-defined]
    with pytest.raises(payments.ServiceError):
        payments.payment_refund(payment=payment, actor=staff, amount=D("10.00"), reason="Scratched", idempotency_key="ex1")
    assert executor.run_due() == 0  # the request had the first go; the executor waits out a lease
    with time_machine.travel(timezone.now() + timedelta(seconds=121), tick=False):
        assert executor.run_due() == 1
    payment.refresh_from_db()
    assert payment.refunded == D("10.00") and payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert len(events(payment, "payment.refunded")) == 1


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("execstaff", password="pw-123456-x", is_staff=True)


def test_the_clock_warns_when_no_executor_takes_due_operations(customer):
    job, _ = completed(customer, name="bobwatch")
    payments.payment_collect(job_id=job.pk)
    watch = PERIODIC_TASKS["payments.overdue_operations"]
    assert watch.run().count == 0  # due just now: an executor has time to take it
    with time_machine.travel(timezone.now() + timedelta(seconds=121), tick=False):
        outcome = watch.run()
        assert outcome.count == 1 and "payments_executor" in outcome.summary
        executor.claim()  # an executor is on it (leased): no warning
        assert watch.run().count == 0


def test_a_soft_decline_is_retried_like_an_outage(customer, monkeypatch):
    job, payment = completed(customer, name="bobsoft")
    payments.payment_collect(job_id=job.pk)
    soft = GatewayResult(False, "retry", "", D("0.00"), "try_again_later", True)
    monkeypatch.setattr(executor, "call_gateway", lambda op: soft)
    assert executor.run_due() == 1
    op = Op.objects.get(payment=payment, kind="capture_deposit")
    assert (op.status, op.leased_until, op.last_error) == ("pending", None, "the gateway asked to retry (try_again_later)")
    monkeypatch.undo()
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        assert executor.run_due() == 3
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PAID
