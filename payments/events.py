"""Payment event types and their payloads. Schemas: marketplace/events/schemas/<type>.v<N>.json.

Two kinds:

- Job-topic events (key = job id), so they are ordered with the job's bids and award and
  reach the job's live pages and timeline: ``payment.*`` except the two below.
- Payment-topic state (``marketplace.payments``, compacted, key = payment id):
  ``payment.snapshot`` carries a payment's whole current state; ``payment.settled`` is
  published as a tombstone (null value, its envelope in headers) once the payment is settled.
- Payout-topic events (``marketplace.payouts``, key = payout id): a payout to a tradesperson,
  ``payout.created`` -> ``payout.in_transit`` -> ``payout.paid`` | ``payout.failed``.
"""

from typing import Literal, NotRequired, TypedDict

from marketplace.events.schemas import job_event, register
from marketplace.events.topics import Topic


class PaymentCapturedV1(TypedDict):
    job_id: int
    payment_id: int
    amount: str
    status: str
    captured_total: str
    reason: NotRequired[str]


class PaymentCapturedV2(PaymentCapturedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class PaymentDepositAuthorizedV1(TypedDict):
    job_id: int
    payment_id: int
    amount: str
    status: str


class PaymentDepositAuthorizedV2(PaymentDepositAuthorizedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class PaymentFailedV1(TypedDict):
    job_id: int
    payment_id: NotRequired[int | None]
    stage: Literal["deposit", "balance", "refund", "capture"]
    amount: str
    reason: str
    customer_id: NotRequired[int]


class PaymentFailedV2(PaymentFailedV1):
    tradesperson_id: NotRequired[int | None]


class PaymentRefundedV1(TypedDict):
    job_id: int
    payment_id: int
    amount: str
    status: str
    refunded_total: str
    reason: NotRequired[str]


class PaymentRefundedV2(PaymentRefundedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class PaymentSettledV1(TypedDict):
    payment_id: int
    job_id: int
    status: str


class PaymentSnapshotV1(TypedDict):
    payment_id: int
    job_id: int
    customer_id: int
    tradesperson_id: int
    status: str
    currency: str
    version: int
    total: str
    deposit: str
    balance: str
    tax: NotRequired[str]
    platform_fee: NotRequired[str]
    payout: NotRequired[str]
    held: str
    captured: str
    refunded: str
    cancellation_fee: NotRequired[str]
    platform_revenue: str
    payout_due: str
    payout_paid: str


class PaymentVoidedV1(TypedDict):
    job_id: int
    payment_id: int
    amount: str
    status: str
    cancellation_fee: NotRequired[str]
    reason: NotRequired[str]


class PaymentVoidedV2(PaymentVoidedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class PayoutStepV1(TypedDict):
    """What every payout event carries: the payout as it is after this step."""

    payout_id: int
    tradesperson_id: int
    amount: str
    currency: str
    status: str


class PayoutCreatedV1(PayoutStepV1):
    payment_ids: list[int]
    retry_of: NotRequired[int | None]


class PayoutInTransitV1(PayoutStepV1):
    provider_reference: str


class PayoutPaidV1(PayoutStepV1):
    provider_reference: str


class PayoutFailedV1(PayoutStepV1):
    failure_reason: str


DEPOSIT_AUTHORIZED = job_event(
    "payment.deposit_authorized",
    "The deposit is held on the customer's card.",
    payload=PaymentDepositAuthorizedV2,
    older_payloads={1: PaymentDepositAuthorizedV1},
)
PAYMENT_FAILED = job_event(
    "payment.failed", "A card payment was declined or failed.", payload=PaymentFailedV2, older_payloads={1: PaymentFailedV1}
)
PAYMENT_CAPTURED = job_event(
    "payment.captured", "Money was taken from the customer's card.", payload=PaymentCapturedV2, older_payloads={1: PaymentCapturedV1}
)
PAYMENT_REFUNDED = job_event(
    "payment.refunded", "Money went back to the customer's card.", payload=PaymentRefundedV2, older_payloads={1: PaymentRefundedV1}
)
PAYMENT_VOIDED = job_event("payment.voided", "A held deposit was released.", payload=PaymentVoidedV2, older_payloads={1: PaymentVoidedV1})

PAYMENT_SNAPSHOT = register(
    "payment.snapshot",
    topic=Topic.PAYMENTS,
    aggregate_type="payment",
    description="A payment's whole current state.",
    payload=PaymentSnapshotV1,
)
PAYMENT_SETTLED = register(
    "payment.settled",
    topic=Topic.PAYMENTS,
    aggregate_type="payment",
    description="Tombstone: the payment is settled.",
    payload=PaymentSettledV1,
)

PAYOUT_CREATED = register(
    "payout.created",
    topic=Topic.PAYOUTS,
    aggregate_type="payout",
    description="What a tradesperson is owed was grouped into a payout, to be sent to the payout provider.",
    payload=PayoutCreatedV1,
)
PAYOUT_IN_TRANSIT = register(
    "payout.in_transit",
    topic=Topic.PAYOUTS,
    aggregate_type="payout",
    description="The payout provider says the payout is on its way to the tradesperson's bank.",
    payload=PayoutInTransitV1,
)
PAYOUT_PAID = register(
    "payout.paid",
    topic=Topic.PAYOUTS,
    aggregate_type="payout",
    description="The payout reached the tradesperson's bank; its payments' payout_paid now include it.",
    payload=PayoutPaidV1,
)
PAYOUT_FAILED = register(
    "payout.failed",
    topic=Topic.PAYOUTS,
    aggregate_type="payout",
    description="The payout provider could not pay; what the payout held is owed again (staff may retry).",
    payload=PayoutFailedV1,
)

# --- sign-off (payments/approval.py) ------------------------------------------------------------


class _SignOffV1(TypedDict):
    job_id: int
    payment_id: int
    status: str
    customer_id: int
    tradesperson_id: int


class PaymentApprovalRequestedV1(_SignOffV1):
    amount: str
    approval_due_at: str


class PaymentApprovedV1(_SignOffV1):
    amount: str
    tip: str
    automatically: bool


class PaymentDisputedV1(_SignOffV1):
    dispute_id: int
    amount: str


class PaymentDisputeResolvedV1(_SignOffV1):
    dispute_id: int
    resolution: Literal["release", "partial_refund", "full_refund"]
    amount: str
    note: NotRequired[str]


APPROVAL_REQUESTED = job_event(
    "payment.approval_requested",
    "The work is done: the customer is asked to approve it or report a problem.",
    payload=PaymentApprovalRequestedV1,
)
APPROVED = job_event(
    "payment.approved", "The customer approved the work (or the window ended); the balance is charged next.", payload=PaymentApprovedV1
)
DISPUTED = job_event("payment.disputed", "The customer reported a problem instead of approving.", payload=PaymentDisputedV1)
DISPUTE_RESOLVED = job_event(
    "payment.dispute_resolved", "Staff resolved a dispute; the balance (less any refund) is charged next.", payload=PaymentDisputeResolvedV1
)
