"""Payouts through the real services, the simulated payout provider (its state in Redis) and Postgres:
the run groups what is owed, the provider is asked outside any transaction with the payout's key, answers
move a payout forward only, a failure returns its items, a refund after a payout is recovered from the next.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from payments import payouts
from payments import services as payments
from payments.approval import payment_approve, payment_request_approval
from payments.models import Payment, Payout
from payments.payout_provider import PayoutProviderUnavailable, PayoutReport, PayoutRequestError
from payments.payout_simulator import SimulatedPayoutProvider
from payments.selectors import payout_balance
from tests.factories import offer, post_job, pro
from tests.helpers import after_payments_executor
from tests.quotes.helpers import accept, submit
from tests.support import wait_until

pytestmark = pytest.mark.django_db
D = Decimal
EARNED = D("159.50")  # a job's total 174.00 less the platform fee 14.50 (tests/quotes/test_payments.py)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("payouts-staff", password="pw-123456-x", is_staff=True)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def bob(db: None) -> User:
    return pro("bobpayout")


def done_job(customer: User, bob: User) -> Payment:
    """A job of Bob's, finished and paid by the customer: 159.50 owed to Bob."""
    job: Job = post_job(customer)
    # On a running stack (browser tests) the matching consumer may offer Bob the lead first.
    with contextlib.suppress(IntegrityError), transaction.atomic():
        offer(job, bob)
    accept(submit(job, bob), customer)
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    # As the payments consumer does (on a running stack, browser tests, it may have done it first): ask for
    # sign-off; the customer approves; the consumer records the collection.
    payment_request_approval(job_id=job.pk, completed_at=timezone.now())
    payment_approve(payment=Payment.objects.get(job=job), actor=customer)
    with transaction.atomic():
        payments.payment_collect(job_id=job.pk)
    # The consumer only records the intent; the executor charges (on a running stack, its own executor may be first).
    wait_until(
        after_payments_executor(lambda: Payment.objects.get(job=job).status == Payment.Status.PAID),
        timeout=30,
        message="the payment to be collected",
    )
    payment = Payment.objects.get(job=job)
    assert payment.payout_due == EARNED
    return payment


def events(payout: Payout) -> list[str]:
    rows = OutboxEvent.objects.filter(topic="marketplace.payouts", key=str(payout.pk)).order_by("id")
    return list(rows.values_list("event_type", flat=True))


def tombstones(payment: Payment) -> int:
    return OutboxEvent.objects.filter(topic="marketplace.payments", key=str(payment.pk), event_type="payment.settled").count()


def test_the_run_groups_everything_owed_into_one_payout_and_pays_it_when_the_provider_says_so(customer, bob, clock):
    first, second = done_job(customer, bob), done_job(customer, bob)
    assert payouts.payouts_run() == 1
    payout = Payout.objects.get(tradesperson=bob)
    assert (payout.status, payout.amount) == ("pending", EARNED * 2)
    assert sorted(payout.items.values_list("payment_id", "amount")) == [(first.pk, EARNED), (second.pk, EARNED)]
    assert payouts.payouts_run() == 0  # what a payout holds is not owed again
    assert payout_balance(tradesperson_id=bob.pk).owed == 0 and payout_balance(tradesperson_id=bob.pk).on_the_way == EARNED * 2

    assert payouts.payouts_submit() == 1
    payout.refresh_from_db()
    assert payout.provider_reference.startswith("sim_po_") and payout.status == "pending"
    assert Payment.objects.get(pk=first.pk).payout_paid == 0  # nothing is paid until the provider says so

    clock.shift(timedelta(seconds=settings.PAYOUTS["SIMULATOR_IN_TRANSIT_AFTER_S"]))
    assert payouts.payouts_poll() == 1
    assert Payout.objects.get(pk=payout.pk).status == "in_transit"
    clock.shift(timedelta(seconds=settings.PAYOUTS["SIMULATOR_ARRIVE_AFTER_S"]))
    assert payouts.payouts_poll() == 1
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.paid_at == START + timedelta(
        seconds=settings.PAYOUTS["SIMULATOR_IN_TRANSIT_AFTER_S"] + settings.PAYOUTS["SIMULATOR_ARRIVE_AFTER_S"]
    )
    assert events(payout) == ["payout.created", "payout.in_transit", "payout.paid"]
    for payment in (first, second):
        payment.refresh_from_db()
        assert (payment.payout_due, payment.payout_paid) == (D("0.00"), EARNED)
        assert tombstones(payment) == 1  # settled now that the tradesperson is paid too
    assert payouts.payouts_poll() == 0
    balance = payout_balance(tradesperson_id=bob.pk)
    assert (balance.owed, balance.on_the_way, balance.paid) == (0, 0, EARNED * 2)


def test_a_balance_below_the_minimum_waits_for_the_next_run(customer, bob, settings):
    settings.PAYOUTS = {**settings.PAYOUTS, "MINIMUM": "200.00"}
    done_job(customer, bob)
    assert payouts.payouts_run() == 0
    done_job(customer, bob)
    assert payouts.payouts_run() == 1
    assert Payout.objects.get().amount == EARNED * 2


def test_a_refund_after_a_payout_is_carried_as_a_negative_balance_and_recovered_from_the_next_payout(customer, bob, staff):
    paid = done_job(customer, bob)
    payout = payouts.payout_create_for(tradesperson_id=bob.pk, at_least=D("0.01"))
    assert payout is not None
    payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_x1", "paid"))

    # The customer gets 100.00 back after Bob was paid: the platform keeps its share of what is left.
    refunded = payments.payment_refund(payment=paid, actor=staff, amount=D("100.00"), reason="Redone", idempotency_key="after-payout")
    kept = D("74.00")
    fee = D("6.17")  # 74.00 x 14.50 / 174.00, rounded
    assert refunded.platform_revenue == fee
    assert refunded.payout_due == kept - fee - EARNED == D("-91.67")
    assert payout_balance(tradesperson_id=bob.pk).owed == D("-91.67")
    assert payouts.payouts_run() == 0  # nothing to pay: the balance is negative

    second = done_job(customer, bob)
    assert payouts.payouts_run() == 1
    payout = Payout.objects.exclude(pk=payout.pk).get()
    assert payout.amount == EARNED - D("91.67") == D("67.83")
    lines = {item.payment_id: item for item in payout.items.all()}
    recovery = lines[paid.pk]
    assert (recovery.amount, recovery.gross, recovery.refunded, recovery.platform_fee, recovery.previously_paid) == (
        D("-91.67"),
        D("174.00"),
        D("100.00"),
        fee,
        EARNED,
    )
    assert lines[second.pk].amount == EARNED
    payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_x2", "paid"))
    paid.refresh_from_db()
    assert (paid.payout_due, paid.payout_paid) == (D("0.00"), kept - fee)
    assert paid.kept == paid.platform_revenue + paid.payout_paid + paid.payout_due


def test_a_failed_payout_returns_its_items_and_staff_can_retry_once(customer, bob, staff, clock, settings):
    settings.PAYOUTS = {**settings.PAYOUTS, "SIMULATOR_FAILING_ACCOUNTS": [payouts.payout_account(bob.pk)]}
    done_job(customer, bob)
    payouts.payouts_run()
    payouts.payouts_submit()
    payout = Payout.objects.get()
    clock.shift(timedelta(seconds=settings.PAYOUTS["SIMULATOR_ARRIVE_AFTER_S"]))
    assert payouts.payouts_poll() == 1
    payout.refresh_from_db()
    assert (payout.status, payout.failure_reason) == ("failed", "account_closed")
    assert events(payout) == ["payout.created", "payout.failed"]
    assert payout_balance(tradesperson_id=bob.pk).owed == EARNED  # owed again

    with pytest.raises(ServiceError) as refused:
        payouts.payout_retry(payout=payout, actor=bob)
    assert refused.value.code == "forbidden"
    retry = payouts.payout_retry(payout=payout, actor=staff)
    assert (retry.retry_of_id, retry.amount, retry.status, retry.requested_by_id) == (payout.pk, EARNED, "pending", staff.pk)
    with pytest.raises(ServiceError) as twice:
        payouts.payout_retry(payout=payout, actor=staff)
    assert twice.value.code == "payout_already_retried"
    with pytest.raises(ServiceError) as not_failed:
        payouts.payout_retry(payout=retry, actor=staff)
    assert not_failed.value.code == "payout_not_failed"


def test_answers_move_a_payout_forward_only_whatever_their_order(customer, bob):
    done_job(customer, bob)
    payouts.payouts_run()
    payout = Payout.objects.get()
    # Paid arrives first (the provider skipped a step for us): in transit is recorded on the way, in order.
    assert payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_o1", "paid")) is True
    # A late in-transit, a repeated paid and a contradicting failure change nothing.
    assert payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_o1", "in_transit")) is False
    assert payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_o1", "paid")) is False
    assert payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_o1", "failed", "late")) is False
    payout.refresh_from_db()
    assert payout.status == "paid" and payout.failure_reason == ""
    assert events(payout) == ["payout.created", "payout.in_transit", "payout.paid"]
    assert Payment.objects.get().payout_paid == EARNED  # paid once


class SpyProvider(SimulatedPayoutProvider):
    """The simulator, recording each call and whether it came inside a transaction; ``down`` makes it unreachable."""

    calls: list[tuple[str, bool]] = []
    down = False

    def send(self, **kw: Any) -> PayoutReport:
        SpyProvider.calls.append((kw["idempotency_key"], payouts.in_transaction()))
        if SpyProvider.down:
            raise PayoutProviderUnavailable("down")
        return super().send(**kw)


@pytest.fixture
def spy(settings) -> Iterator[type[SpyProvider]]:
    settings.PAYOUTS = {**settings.PAYOUTS, "PROVIDER": "tests.payments.test_payouts.SpyProvider"}
    payouts.provider.cache_clear()
    SpyProvider.calls, SpyProvider.down = [], False
    yield SpyProvider
    payouts.provider.cache_clear()


def test_the_provider_is_asked_outside_any_transaction_with_the_payouts_key_once(customer, bob, spy):
    done_job(customer, bob)
    payouts.payouts_run()
    payout = Payout.objects.get()
    spy.down = True
    assert payouts.payouts_submit() == 0  # an outage leaves it pending, unsent
    assert Payout.objects.get().provider_reference == ""
    spy.down = False
    assert payouts.payouts_submit() == 1
    assert payouts.payouts_submit() == 0  # already accepted: not sent again
    assert spy.calls == [(payout.idempotency_key, False), (payout.idempotency_key, False)]
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside any database transaction"):
        payouts.payout_submit(Payout.objects.get())
    assert connection.in_atomic_block  # the test's own transaction is still there


def test_the_simulated_provider_is_idempotent_per_key(clock):
    provider = SimulatedPayoutProvider()
    key = f"payout:{uuid.uuid4()}"  # the simulator's state (Redis) outlives test databases
    first = provider.send(account="acct_1", amount=D("10.00"), currency="GBP", idempotency_key=key, reference="payout:1")
    clock.shift(timedelta(seconds=30))
    again = provider.send(account="acct_1", amount=D("10.00"), currency="GBP", idempotency_key=key, reference="payout:1")
    assert again == first and first.status == "pending"
    with pytest.raises(PayoutRequestError):
        provider.send(account="acct_1", amount=D("11.00"), currency="GBP", idempotency_key=key, reference="payout:1")
    with pytest.raises(PayoutRequestError):
        provider.send(account="acct_1", amount=D("0.001"), currency="GBP", idempotency_key=f"{key}-b", reference="payout:1")
    clock.shift(timedelta(seconds=settings.PAYOUTS["SIMULATOR_IN_TRANSIT_AFTER_S"]))
    assert provider.status(reference=first.reference).status == "in_transit"
