"""Payments: what a customer pays for a job, each gateway operation, the gateway's webhooks, and payouts to tradespeople."""

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
    payout_due = money_field(
        default=Decimal("0.00"), help_text="Owed to the tradesperson, not yet paid out (negative: a refund after a payout, to recover)."
    )
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
            # payout_due may be negative: a refund after a payout is recovered from the next payout (payments/payouts.py).
            models.CheckConstraint(condition=models.Q(payout_paid__gte=0), name="payment_payout_paid_not_negative"),
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

    The idempotency key is unique, so the same money movement can never be asked for twice.
    A pending operation with ``next_attempt_at`` set is an intent for the payments executor
    (``payments/executor.py``): it leases the row (``leased_until``), calls the gateway outside
    any transaction with the key, and records the outcome in a second transaction; an outage
    pushes ``next_attempt_at`` back (``attempts``, ``last_error``), a lease that runs out lets
    another executor retry with the same key. A pending deposit authorisation (no
    ``next_attempt_at``) left by a crash is settled by ``payments_reconcile``.
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
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the executor may (re)try this pending operation; empty: not the executor's."
    )
    leased_until = models.DateTimeField(null=True, blank=True, help_text="An executor is calling the gateway for it until then.")
    attempts = models.PositiveIntegerField(default=0, help_text="Gateway calls the executor started for it.")
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "quotes_paymentoperation"  # made by the quotes app before payments had its own
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="payment_operation_amount_not_negative")]
        indexes = [
            # The executor's claim query: pending intents that are due.
            models.Index(
                fields=["next_attempt_at"], name="payment_op_due", condition=models.Q(status="pending", next_attempt_at__isnull=False)
            )
        ]

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


class Payout(models.Model):
    """One transfer to a tradesperson's bank account through the payout provider (``payments/payouts.py``).

    Written (pending, no provider reference) before the provider is asked, with a unique idempotency
    key, so asking again after a crash reaches the provider with the same key and pays once. Its
    items say which payments it pays (or recovers from). A failed payout's items count as owed again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "On its way"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    amount = money_field()
    currency = models.CharField(max_length=3, default="GBP")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=40)
    provider_reference = models.CharField(max_length=64, blank=True, help_text="The provider's id, once it accepted the payout.")
    failure_reason = models.CharField(max_length=200, blank=True, help_text="For staff: the provider's reason.")
    retry_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="retried_by", help_text="The failed payout this one retries."
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    in_transit_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_positive")]

    def __str__(self) -> str:
        return f"Payout {self.pk} of £{self.amount} ({self.get_status_display()})"

    @property
    def open(self) -> bool:
        """Pending or on its way: its items are not owed any more, and not paid yet."""
        return self.status in (self.Status.PENDING, self.Status.IN_TRANSIT)


class PayoutItem(models.Model):
    """One payment's part of a payout: what it earned (positive) or what a refund after a payout recovers (negative).

    The figures are the payment's at the time of the payout, so a statement line reads
    ``gross - refunded - platform_fee - previously_paid = amount``.
    """

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="items")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="payout_items")
    amount = money_field(help_text="Paid out for this payment (negative: recovered).")
    gross = money_field(help_text="What the customer was charged for the job.")
    refunded = money_field(help_text="Given back to the customer.")
    platform_fee = money_field(help_text="The marketplace's fee on what was kept.")
    previously_paid = money_field(help_text="Paid out (or on its way) for this job before this payout.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["payout", "payment"], name="payout_item_once_per_payment"),
            models.CheckConstraint(
                condition=models.Q(
                    amount=models.F("gross") - models.F("refunded") - models.F("platform_fee") - models.F("previously_paid")
                ),
                name="payout_item_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"£{self.amount} for payment {self.payment_id}"

    @property
    def is_recovery(self) -> bool:
        return self.amount < 0


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
