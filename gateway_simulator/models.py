"""The SIMULATED gateway's state (no real money): what a remote processor would keep on its side.

Written only by :mod:`gateway_simulator.gateway`, one ``transaction.atomic()`` per gateway call,
under row locks. No card number is ever stored, nor any token or reference the caller sent: an
authorization keeps its currency and ledger, a reply keeps a fingerprint (a hash) of the request.
The check constraints are the last line of defence for the ledger's amounts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast, get_args

from django.db import models

from payments.gateway import GatewayResult, GatewayStatus
from payments.simulated_ledger import STATES, PaymentLedger, PaymentState
from payments.simulator import SimulatedOperation

ZERO = Decimal("0.00")
# The most a DecimalField(12, 2) holds; the simulator refuses larger amounts (bad_amount).
MAX_STORED_AMOUNT = Decimal("9999999999.99")

STATE_CHOICES = [(state, state.replace("_", " ")) for state in STATES]
STATUS_CHOICES = [(status, status) for status in get_args(GatewayStatus)]
OPERATION_CHOICES = [(operation, operation) for operation in get_args(SimulatedOperation)]


class Authorization(models.Model):
    """A hold the simulated processor placed (or declined): its currency and ledger. Never a token or card number."""

    id = models.CharField(primary_key=True, max_length=32, help_text="sim_auth_000001...")
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=24, choices=STATE_CHOICES)
    authorized = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    captured = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    refunded = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "simulated authorization"
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=STATES), name="gwsim_authorization_state_known"),
            models.CheckConstraint(condition=models.Q(refunded__gte=0), name="gwsim_authorization_refunded_not_negative"),
            models.CheckConstraint(condition=models.Q(captured__gte=models.F("refunded")), name="gwsim_authorization_refund_le_captured"),
            models.CheckConstraint(condition=models.Q(authorized__gte=models.F("captured")), name="gwsim_authorization_capture_le_held"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"

    @property
    def ledger(self) -> PaymentLedger:
        """The stored figures as a :class:`PaymentLedger` (which re-checks that they agree)."""
        return PaymentLedger(cast(PaymentState, self.state), self.authorized, self.captured, self.refunded)

    @ledger.setter
    def ledger(self, ledger: PaymentLedger) -> None:
        self.state = ledger.state
        self.authorized, self.captured, self.refunded = ledger.authorized, ledger.captured, ledger.refunded


class Charge(models.Model):
    """What a capture took: the charge id that refunds name, and its authorization (captured at most once)."""

    id = models.CharField(primary_key=True, max_length=32, help_text="sim_ch_000002...")
    authorization = models.OneToOneField(Authorization, on_delete=models.PROTECT, related_name="charge")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "simulated charge"

    def __str__(self) -> str:
        return self.id


class IdempotencyReply(models.Model):
    """The first result for an idempotency key, returned again to a repeat of the same request (one row per action)."""

    key = models.CharField(max_length=255, unique=True)
    operation = models.CharField(max_length=10, choices=OPERATION_CHOICES)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 (base64url) of the canonical request: compared, never read back.")
    ok = models.BooleanField()
    status = models.CharField(max_length=10, choices=STATUS_CHOICES)
    gateway_id = models.CharField(max_length=32)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    message = models.CharField(max_length=255)
    retryable = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "simulated idempotency reply"
        verbose_name_plural = "simulated idempotency replies"

    def __str__(self) -> str:
        return f"{self.operation} {self.status} {self.gateway_id}"

    def result(self) -> GatewayResult:
        return GatewayResult(self.ok, cast(GatewayStatus, self.status), self.gateway_id, self.amount, self.message, self.retryable)


class RetriedKey(models.Model):
    """An idempotency key whose first ``tok_retry`` authorize timed out: the next call with it is approved."""

    key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "simulated timed-out key"

    def __str__(self) -> str:
        return f"timed out once at {self.created_at:%Y-%m-%d %H:%M:%S}"


class IdSequence(models.Model):
    """The one counter behind every simulated id (``sim_auth_000001``, ``sim_ch_000002``...), taken under a row lock."""

    name = models.CharField(primary_key=True, max_length=16)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "simulated id sequence"

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
