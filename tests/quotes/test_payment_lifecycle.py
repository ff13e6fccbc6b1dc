"""A hypothesis stateful test of a payment's whole life through the real services, gateway and Postgres.

Random sequences of what can happen to a booked job (start, complete, the customer's sign-off
with or without a tip, a dispute and staff resolving it, approval by the clock, cancel by either
side, staff refunds, payouts paid or failed, provider webhooks, redelivered consumer events, and
the payments executor running between any two of them) never break the money invariants: per
payment, what was kept is the platform's revenue plus what is paid out and owed; per
tradesperson, what payouts paid is what the payments say was paid out; the simulated
processor captured exactly what we recorded, and nothing was charged twice.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, note
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gateway_simulator.models import Authorization, Charge
from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from payments import lifecycle as payment_lifecycle
from payments import payouts
from payments import services as payments
from payments.approval import dispute_resolve, payment_approve, payment_dispute, payment_request_approval, payments_auto_approve
from payments.executor import run_due
from payments.models import Dispute, Payment, PaymentOperation, Payout
from payments.payout_provider import PayoutReport
from payments.webhooks import sign_webhook
from tests.factories import offer, post_job, pro

from .helpers import accept, submit

D = Decimal
Op = PaymentOperation
_names = itertools.count()


class PaymentLife(RuleBasedStateMachine):
    @initialize(window_hours=st.sampled_from([None, 2, 48]))
    def book(self, window_hours: int | None) -> None:
        n = next(_names)
        self.customer = User.objects.create_user(f"lifecust{n}", role=User.Role.CUSTOMER)
        self.staff = User.objects.filter(username="lifestaff").first() or User.objects.create_user("lifestaff", is_staff=True)
        now = timezone.now()
        extra = (
            {"window_start": now + timedelta(hours=window_hours), "window_end": now + timedelta(hours=window_hours + 2)}
            if window_hours
            else {}
        )
        self.job = post_job(self.customer, **extra)
        self.pro = pro(f"lifepro{n}")
        offer(self.job, self.pro)
        self.acceptance = accept(submit(self.job, self.pro), self.customer)
        self.refund_keys = 0

    @property
    def payment(self) -> Payment:
        return Payment.objects.select_related("acceptance").get(job=self.job)

    def _job(self) -> Job:
        return Job.objects.get(pk=self.job.pk)

    @rule()
    def start(self) -> None:
        with contextlib.suppress(ServiceError):
            job_services.job_start_work(job=self._job(), actor=self.pro)

    @rule(redeliver=st.booleans())
    def complete(self, redeliver: bool) -> None:
        try:
            job_services.job_complete(job=self._job(), actor=self.pro)
        except ServiceError:
            return
        for _ in range(2 if redeliver else 1):  # the payments consumer asks the customer to sign off
            payment_request_approval(job_id=self.job.pk, completed_at=timezone.now())

    def _collect(self, redeliver: bool = False) -> None:
        """What the payments consumer does on payment.approved / payment.dispute_resolved (perhaps delivered twice)."""
        for _ in range(2 if redeliver else 1):
            payments.payment_collect(job_id=self.job.pk)

    @rule(tip_pence=st.sampled_from([0, 500, 1234]), redeliver=st.booleans())
    def approve(self, tip_pence: int, redeliver: bool) -> None:
        try:
            payment_approve(payment=self.payment, actor=self.customer, tip=D(tip_pence) / 100)
        except ServiceError as exc:
            note(f"approval refused: {exc.code}")
            return
        self._collect(redeliver)

    @rule()
    def window_ends_without_an_answer(self) -> None:
        if payments_auto_approve(now=timezone.now() + timedelta(days=3)):
            self._collect()

    @rule()
    def customer_reports_a_problem(self) -> None:
        try:
            payment_dispute(payment=self.payment, actor=self.customer, description="The tap still drips.")
        except ServiceError as exc:
            note(f"dispute refused: {exc.code}")

    @rule(outcome=st.sampled_from(list(Dispute.Resolution.values)), pence=st.integers(min_value=1, max_value=30000))
    def staff_resolve(self, outcome: str, pence: int) -> None:
        dispute = Dispute.objects.filter(job=self.job, status=Dispute.Status.OPEN).first()
        if dispute is None:
            return
        try:
            dispute_resolve(dispute=dispute, actor=self.staff, outcome=outcome, amount=D(pence) / 100, note="Checked the photos.")
        except ServiceError as exc:
            note(f"resolution refused: {exc.code}")
            return
        self._collect()

    @rule(paid=st.booleans())
    def payout(self, paid: bool) -> None:
        """A payout run for the tradesperson; the provider says paid, or failed (the items are owed again)."""
        payout = payouts.payout_create_for(tradesperson_id=self.pro.pk, at_least=D("0.01"))
        if payout is None:
            return
        reference = f"po_{next(_names)}"
        payouts.payout_record(payout_id=payout.pk, report=PayoutReport(reference, "in_transit"))
        payouts.payout_record(payout_id=payout.pk, report=PayoutReport(reference, "paid" if paid else "failed", "" if paid else "closed"))

    @rule()
    def executor_runs(self) -> None:
        """The payments executor carries out what is due (between any two other steps, or never before the invariants)."""
        note(f"executor ran {run_due()} operation(s)")

    @rule(by_customer=st.booleans(), minutes_after=st.sampled_from([1, 30, 600]), redeliver=st.booleans())
    def cancel(self, by_customer: bool, minutes_after: int, redeliver: bool) -> None:
        try:
            job_services.job_cancel(job=self._job(), actor=self.customer if by_customer else self.pro)
        except ServiceError:
            return
        at = self.acceptance.accepted_at + timedelta(minutes=minutes_after)
        for _ in range(2 if redeliver else 1):
            payments.payment_cancel(job_id=self.job.pk, cancelled_at=at, by_customer=by_customer)

    @rule(pence=st.integers(min_value=1, max_value=30000), repeat_key=st.booleans())
    def refund(self, pence: int, repeat_key: bool) -> None:
        if not repeat_key:
            self.refund_keys += 1
        try:
            payments.payment_refund(
                payment=self.payment, actor=self.staff, amount=D(pence) / 100, reason="test", idempotency_key=f"k{self.refund_keys}"
            )
        except ServiceError as exc:
            note(f"refund refused: {exc.code}")

    def _webhook(self, kind: str, data: dict[str, str]) -> None:
        body = json.dumps({"id": f"evt_{next(_names)}", "type": kind, "created": 1, "data": data}).encode()
        signature = sign_webhook(body, settings.PAYMENTS["WEBHOOK_SECRET"], int(timezone.now().timestamp()))
        try:
            note(payments.webhook_receive(body=body, signature=signature))
        except payments.WebhookNotReady:
            note("webhook not ready")

    @rule()
    def hold_expires_at_the_provider(self) -> None:
        self._webhook("authorization.expired", {"authorization_id": self.payment.deposit_authorization_id})

    @rule(pence=st.integers(min_value=1, max_value=30000))
    def refund_at_the_provider(self, pence: int) -> None:
        capture = Op.objects.filter(payment=self.payment, kind__startswith="capture", status="succeeded").first()
        if capture is not None:
            self._webhook(
                "charge.refunded", {"charge_id": capture.gateway_id, "refund_id": f"re_{next(_names)}", "amount": str(D(pence) / 100)}
            )

    @invariant()
    def money_adds_up(self) -> None:
        if not hasattr(self, "job"):
            return
        p = self.payment
        total = p.acceptance.total
        assert D(0) <= p.refunded <= p.captured <= total + p.tip
        assert p.held >= 0 and p.platform_revenue >= 0 and p.payout_paid >= 0
        assert p.kept == p.platform_revenue + p.payout_paid + p.payout_due
        ops = Op.objects.filter(payment=p, status=Op.Status.SUCCEEDED)
        captured = ops.filter(kind__in=[Op.Kind.CAPTURE_DEPOSIT, Op.Kind.CAPTURE_BALANCE]).aggregate(s=Sum("amount"))["s"] or D(0)
        refunded = ops.filter(kind=Op.Kind.REFUND).aggregate(s=Sum("amount"))["s"] or D(0)
        assert (captured, refunded) == (p.captured, p.refunded)  # every penny is one recorded gateway operation
        if p.status in payment_lifecycle.SETTLED:
            assert p.held == 0  # payout_due stays owed until a payout run pays it
        if p.status == Payment.Status.PAID:
            assert p.captured == total + p.tip
        signed_off = p.approved_at is not None or Dispute.objects.filter(payment=p, status=Dispute.Status.RESOLVED).exists()
        if signed_off and p.status not in (Payment.Status.COMPLETING, Payment.Status.BALANCE_FAILED):
            assert p.captured == total + p.tip - p.reduction  # signed off: the price, plus the tip, less any agreed refund
        if p.status == Payment.Status.CANCELLED:
            assert p.captured == p.cancellation_fee <= p.acceptance.deposit

    @invariant()
    def payouts_paid_what_the_payments_say(self) -> None:
        if not hasattr(self, "job"):
            return
        paid = Payout.objects.filter(tradesperson=self.pro, status=Payout.Status.PAID).aggregate(s=Sum("amount"))["s"] or D(0)
        assert paid == (Payment.objects.filter(tradesperson=self.pro).aggregate(s=Sum("payout_paid"))["s"] or D(0))

    @invariant()
    def the_processor_agrees_and_charged_nothing_twice(self) -> None:
        """Between steps nothing is in flight, so the simulated processor's ledger is ours: what it captured is what we recorded."""
        if not hasattr(self, "job"):
            return
        p = self.payment
        auths = Authorization.objects.filter(id__in=[a for a in (p.deposit_authorization_id, p.balance_authorization_id) if a])
        assert sum((a.captured for a in auths), D(0)) == p.captured
        charges = Op.objects.filter(payment=p, status=Op.Status.SUCCEEDED, kind__startswith="capture").values_list("gateway_id", flat=True)
        assert len(set(charges)) == len(charges) == Charge.objects.filter(id__in=charges).count()


@pytest.mark.django_db
@pytest.mark.slow
def test_payment_life() -> None:
    run = PaymentLife.TestCase
    run.settings = hsettings(max_examples=25, stateful_step_count=14, deadline=None, suppress_health_check=list(HealthCheck))
    run().runTest()
