"""Payments: what a customer pays for a job, each gateway operation, and the gateway's webhooks."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from marketplace.money import money_field


class Payment(models.Model):
    """What the customer pays for one job, and what has moved so far.

    Money moves only through ``payments/services.py``, one gateway operation
    (:class:`PaymentOperation`, unique idempotency key) at a time. The card is known only by the
    gateway's token; no card number is ever stored.
    """

    class Status(models.TextChoices):
        DEPOSIT_HELD = "deposit_held", "Deposit held"
        AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval"
        DISPUTED = "disputed", "Problem reported"
        COMPLETING = "completing", "Taking payment"
        BALANCE_FAILED = "balance_failed", "Balance payment failed"
        PAID = "paid", "Paid"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"
        PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
        REFUNDED = "refunded", "Refunded"

    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="payment")
    acceptance = models.OneToOneField("quotes.QuoteAcceptance", on_delete=models.PROTECT, related_name="payment")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments_received")
    gateway = models.CharField(max_length=40)
    card_token = models.CharField(max_length=64, help_text="The gateway's token for the customer's card (never a card number).")
    currency = models.CharField(max_length=3, default="GBP")
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    held = money_field(default=Decimal("0.00"), help_text="Authorised on the card, not yet taken.")
    captured = money_field(default=Decimal("0.00"))
    refunded = money_field(default=Decimal("0.00"))
    cancellation_fee = money_field(default=Decimal("0.00"))
    platform_revenue = money_field(default=Decimal("0.00"), help_text="The marketplace's fee on what was kept.")
    payout_due = money_field(default=Decimal("0.00"), help_text="Owed to the tradesperson, not yet paid out.")
    payout_paid = money_field(default=Decimal("0.00"))
    deposit_authorization_id = models.CharField(max_length=64, blank=True)
    balance_authorization_id = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change; the snapshot's version.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    # Sign-off (payments/approval.py): the customer approves the finished work, optionally with a tip, or reports a problem.
    tip = money_field(default=Decimal("0.00"), help_text="Added by the customer on approval; all of it goes to the tradesperson.")
    reduction = money_field(default=Decimal("0.00"), help_text="Taken off the price when staff resolve a dispute.")
    approval_due_at = models.DateTimeField(null=True, blank=True, help_text="Approved automatically at this time unless disputed.")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_automatically = models.BooleanField(default=False)

    class Meta:
        db_table = "quotes_payment"  # made by the quotes app before payments had its own
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(held__gte=0, captured__gte=0, refunded__gte=0), name="payment_amounts_not_negative"),
            models.CheckConstraint(condition=models.Q(refunded__lte=models.F("captured")), name="payment_refund_at_most_captured"),
            models.CheckConstraint(condition=models.Q(payout_due__gte=0, payout_paid__gte=0), name="payment_payouts_not_negative"),
            models.CheckConstraint(condition=models.Q(tip__gte=0, reduction__gte=0), name="payment_tip_reduction_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk} for job {self.job_id} ({self.get_status_display()})"

    @property
    def kept(self) -> Decimal:
        """Captured less refunded: what the customer has paid in the end."""
        return self.captured - self.refunded


class PaymentOperation(models.Model):
    """One request to the gateway. Written (pending) before the call, completed after it.

    The idempotency key is unique, so the same money movement can never be asked for twice;
    a pending operation left by a crash is retried with the same key (``payments_reconcile``).
    """

    class Kind(models.TextChoices):
        AUTHORIZE_DEPOSIT = "authorize_deposit", "Authorise deposit"
        CAPTURE_DEPOSIT = "capture_deposit", "Capture deposit"
        AUTHORIZE_BALANCE = "authorize_balance", "Authorise balance"
        CAPTURE_BALANCE = "capture_balance", "Capture balance"
        VOID_DEPOSIT = "void_deposit", "Release deposit"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        DECLINED = "declined", "Declined"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="operations")
    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="payment_operations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = money_field()
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    gateway_id = models.CharField(max_length=64, blank=True, help_text="The gateway's id for the authorization, charge or refund.")
    charge_id = models.CharField(max_length=64, blank=True, help_text="For a refund: the charge it refunds.")
    card_token = models.CharField(max_length=64, blank=True, help_text="For an authorisation: the gateway's card token.")
    message = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quotes_paymentoperation"  # made by the quotes app before payments had its own
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="payment_operation_amount_not_negative")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} £{self.amount} ({self.status})"


class GatewayWebhook(models.Model):
    """A webhook the gateway sent us, recorded once by its event id (duplicates and replays change nothing)."""

    gateway = models.CharField(max_length=40)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When the gateway says it happened.")
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(help_text="The body, with anything card-like removed.")
    outcome = models.CharField(max_length=200)

    class Meta:
        db_table = "quotes_gatewaywebhook"  # made by the quotes app before payments had its own
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="gateway_webhook_once")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type} {self.event_id}: {self.outcome}"


class Dispute(models.Model):
    """A problem the customer reported instead of approving the work; staff resolve it in admin.

    At most one per payment. Resolving it sets the payment's ``reduction`` and lets the balance be
    charged (``payments/approval.py`` :func:`~payments.approval.dispute_resolve`).
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        RELEASE = "release", "Pay the tradesperson in full"
        PARTIAL_REFUND = "partial_refund", "Refund part of the price"
        FULL_REFUND = "full_refund", "Refund the whole price"

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="dispute")
    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="disputes")
    description = models.TextField(help_text="What the customer says is wrong.")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes_opened")
    opened_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    amount = money_field(default=Decimal("0.00"), help_text="Taken off the price (the refund).")
    staff_note = models.TextField(blank=True, help_text="Shown to both the customer and the tradesperson.")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="dispute_amount_not_negative")]

    def __str__(self) -> str:
        return f"Problem with job {self.job_id} ({self.get_status_display()})"
