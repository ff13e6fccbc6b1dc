"""A hypothesis stateful test of a payment's whole life through the real services, gateway and Postgres.

Random sequences of what can happen to a booked job (start, complete, cancel by either side,
staff refunds, provider webhooks, redelivered consumer events) never break the money invariants.
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
from payments import services as payments
from payments.executor import run_due
from payments.models import Payment, PaymentOperation
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
        for _ in range(2 if redeliver else 1):
            payments.payment_collect(job_id=self.job.pk)

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
        assert D(0) <= p.refunded <= p.captured <= total
        assert p.held >= 0 and p.platform_revenue >= 0 and p.payout_paid >= 0
        assert p.kept == p.platform_revenue + p.payout_paid + p.payout_due
        ops = Op.objects.filter(payment=p, status=Op.Status.SUCCEEDED)
        captured = ops.filter(kind__in=[Op.Kind.CAPTURE_DEPOSIT, Op.Kind.CAPTURE_BALANCE]).aggregate(s=Sum("amount"))["s"] or D(0)
        refunded = ops.filter(kind=Op.Kind.REFUND).aggregate(s=Sum("amount"))["s"] or D(0)
        assert (captured, refunded) == (p.captured, p.refunded)  # every penny is one recorded gateway operation
        if p.status in payment_lifecycle.SETTLED:
            assert p.held == 0  # payout_due stays owed until a payout run pays it
        if p.status == Payment.Status.PAID:
            assert p.captured == total
        if p.status == Payment.Status.CANCELLED:
            assert p.captured == p.cancellation_fee <= p.acceptance.deposit

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
    run.settings = hsettings(max_examples=25, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck))
    run().runTest()
