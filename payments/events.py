"""Payment event types. Schemas: marketplace/events/schemas/<type>.v<N>.json.

Two kinds:

- Job-topic events (key = job id), so they are ordered with the job's bids and award and
  reach the job's live pages and timeline: ``payment.*`` except the two below.
- Payment-topic state (``marketplace.payments``, compacted, key = payment id):
  ``payment.snapshot`` carries a payment's whole current state; ``payment.settled`` is
  published as a tombstone (null value, its envelope in headers) once the payment is settled.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


def _job_event(name: str, description: str):  # type: ignore[no-untyped-def]
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description)


DEPOSIT_AUTHORIZED = _job_event("payment.deposit_authorized", "The deposit is held on the customer's card.")
PAYMENT_FAILED = _job_event("payment.failed", "A card payment was declined or failed.")
PAYMENT_CAPTURED = _job_event("payment.captured", "Money was taken from the customer's card.")
PAYMENT_REFUNDED = _job_event("payment.refunded", "Money went back to the customer's card.")
PAYMENT_VOIDED = _job_event("payment.voided", "A held deposit was released.")

PAYMENT_SNAPSHOT = register(
    "payment.snapshot", topic=Topic.PAYMENTS, aggregate_type="payment", description="A payment's whole current state."
)
PAYMENT_SETTLED = register(
    "payment.settled", topic=Topic.PAYMENTS, aggregate_type="payment", description="Tombstone: the payment is settled."
)
