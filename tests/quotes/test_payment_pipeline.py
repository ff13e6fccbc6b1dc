"""Payments through Kafka: job events -> the payments consumer moves money -> snapshots and a tombstone
on the compacted payments topic -> the finance consumer's read model. Real broker, relay, runners."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finance.models import FinanceLedgerEntry, FinanceOpenPayment
from jobs import services as job_services
from marketplace.events.models import ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild
from payments.approval import payment_approve
from payments.models import Payment
from tests.events.pipeline import read_topic, relay_all, run_consumer_until
from tests.helpers import after_payments_executor

from .helpers import pay_out
from .test_payments import booked

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def ledger_row(payment_id: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    e = FinanceLedgerEntry.objects.get(payment_id=payment_id)
    return e.captured, e.refunded, e.platform_revenue, e.payout_paid


def test_completion_moves_money_and_the_tombstone_closes_the_open_position(broker, customer) -> None:
    job, bob, acceptance = booked(customer)
    payment = Payment.objects.get(job=job)
    relay_all()
    finance = get_consumer("finance")
    run_consumer_until(lambda: FinanceOpenPayment.objects.filter(payment_id=payment.pk).exists(), finance)
    open_position = FinanceOpenPayment.objects.get(payment_id=payment.pk)
    assert (open_position.held, open_position.balance_due) == (acceptance.deposit, acceptance.balance)

    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    relay_all()
    # The payments consumer reacts to job.status_changed(completed) by asking the customer to sign off;
    # the customer's approval (with a tip) makes it collect the money.
    payments_consumer = get_consumer("payments")
    run_consumer_until(lambda: Payment.objects.get(pk=payment.pk).status == Payment.Status.AWAITING_APPROVAL, payments_consumer)
    payment_approve(payment=payment, actor=customer, tip=D("10.00"))
    relay_all()
    run_consumer_until(after_payments_executor(lambda: Payment.objects.get(pk=payment.pk).status == Payment.Status.PAID), payments_consumer)
    pay_out(bob)  # settled once the tradesperson is paid out too
    relay_all()

    messages = read_topic("marketplace.payments", expect=6)
    tombstones = [m for m in messages if m.value() is None]
    assert len(tombstones) == 1 and tombstones[0].key() == str(payment.pk).encode()
    headers = dict(tombstones[0].headers() or [])
    assert headers["event_type"] == b"payment.settled"

    run_consumer_until(lambda: not FinanceOpenPayment.objects.filter(payment_id=payment.pk).exists(), finance)
    tombstone_id = headers["event_id"].decode()
    assert ProcessedEvent.objects.filter(consumer="finance", event_id=tombstone_id).exists()
    paid = acceptance.total + D("10.00")  # the tip goes to the tradesperson, with no platform fee on it
    assert ledger_row(payment.pk) == (paid, D("0.00"), acceptance.platform_fee, paid - acceptance.platform_fee)
    print(
        f"\ntombstone consumed: topic marketplace.payments key={payment.pk} event_id={tombstone_id} -> "
        f"open position deleted, ledger kept captured={paid} platform_revenue={acceptance.platform_fee}"
    )

    # Rebuilding the finance read model from the log (tombstone included) gives the same figures.
    before = ledger_row(payment.pk)
    result = rebuild(finance, source="kafka")
    assert result.applied >= 3
    assert ledger_row(payment.pk) == before and not FinanceOpenPayment.objects.exists()


def test_a_redelivered_completion_moves_no_money_twice(broker, customer) -> None:
    job, bob, _ = booked(customer, name="bobtwice")
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    relay_all()
    spec = get_consumer("payments")
    run_consumer_until(lambda: Payment.objects.get(job=job).status == Payment.Status.AWAITING_APPROVAL, spec)
    payment_approve(payment=Payment.objects.get(job=job), actor=customer)
    relay_all()
    run_consumer_until(after_payments_executor(lambda: Payment.objects.get(job=job).status == Payment.Status.PAID), spec)
    captured = Payment.objects.get(job=job).captured
    # Redeliver everything past the inbox (as a replay after losing it would): the handler sees the
    # completion and the approval again, and the payment's state plus the gateway's idempotency keys absorb it.
    seen = ProcessedEvent.objects.filter(consumer="payments").count()
    ProcessedEvent.objects.filter(consumer="payments").delete()
    run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="payments").count() >= seen, spec, group="payments-replay")
    payment = Payment.objects.get(job=job)
    assert payment.captured == captured and payment.operations.count() == 4
