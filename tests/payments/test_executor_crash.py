"""The payments executor is SIGKILLed between the gateway's charge and our record, then restarted.

Real processes (``manage.py payments_executor``), the database simulator shared with them, Postgres.
The charge made before the crash is asked for again with the same idempotency key once the lease
runs out: the processor answers with its first result, so the customer is charged exactly once and
the capture is recorded.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from gateway_simulator.models import Charge, IdempotencyReply
from jobs import services as job_services
from payments import services as payments
from payments.models import Payment, PaymentOperation
from tests.quotes.test_payments import booked
from tests.support import ARTIFACTS, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
Op = PaymentOperation


def test_a_crash_after_the_charge_neither_charges_twice_nor_loses_the_capture(customer) -> None:
    job, bob, acceptance = booked(customer, name="bobcrash")
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    with transaction.atomic():  # what the payments consumer does: the intent, committed
        payments.payment_collect(job_id=job.pk)
    payment = Payment.objects.get(job=job)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    marker = ARTIFACTS / f"crash-{uuid.uuid4().hex}"
    marker.touch()
    env = subprocess_env(
        PAYMENTS_GATEWAY="tests.payments.gateways.CrashAfterCaptureGateway",
        GATEWAY_CRASH_MARKER=str(marker),
        PAYMENTS_EXECUTOR_LEASE_S="2",  # so the restarted executor may retry soon
    )
    first = manage("executor-crash-1", "payments_executor", env=env).start().proc
    assert first is not None
    wait_until(lambda: first.poll() is not None, timeout=60, message="the executor to die in the gateway call")
    assert first.returncode == -9 and not marker.exists()

    # The processor charged the deposit; our side knows nothing of it yet.
    op = Op.objects.get(payment=payment, kind="capture_deposit")
    assert (op.status, op.attempts) == ("pending", 1) and op.leased_until is not None
    assert IdempotencyReply.objects.filter(key=op.idempotency_key, status="captured").count() == 1
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.COMPLETING

    second = manage("executor-crash-2", "payments_executor", env=env).start()
    try:
        wait_until(lambda: Payment.objects.get(pk=payment.pk).status == Payment.Status.PAID, timeout=60, message="the payment to be paid")
    finally:
        assert second.terminate() == 0, second.log()  # SIGTERM: a clean stop
    paid = Payment.objects.get(pk=payment.pk)
    assert paid.captured == acceptance.total and paid.held == Decimal("0.00")
    op.refresh_from_db()
    assert (op.status, op.attempts) == ("succeeded", 2)
    # Exactly one charge per authorization at the processor, and its replies agree with our record.
    assert Charge.objects.filter(authorization_id=paid.deposit_authorization_id).count() == 1
    assert Charge.objects.filter(authorization_id=paid.balance_authorization_id).count() == 1
    assert IdempotencyReply.objects.filter(operation="capture").count() == 2
    captured_at_processor = sum(r.amount for r in IdempotencyReply.objects.filter(operation="capture", ok=True))
    assert captured_at_processor == paid.captured
