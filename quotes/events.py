"""Quote event types and their payloads, on the job topic (key = job id) so they are ordered with the job's bids and
award and reach the job's live pages and timeline. Schemas: marketplace/events/schemas/<type>.v<N>.json.
"""

from typing import Literal, NotRequired, TypedDict

from marketplace.events.schemas import job_event, register
from marketplace.events.topics import Topic


class QuoteAcceptedV1(TypedDict):
    job_id: int
    bid_id: int
    tradesperson_id: int
    version: int
    tier: str
    net: NotRequired[str]
    tax: NotRequired[str]
    total: str
    deposit: str
    balance: str
    platform_fee: NotRequired[str]
    payout: NotRequired[str]
    promo_code: NotRequired[str]
    promo_amount: NotRequired[str]


class QuoteOptionV1(TypedDict):
    tier: str
    title: str
    net: str
    tax: NotRequired[str]
    total: str
    deposit: str


class QuotePublishedV1(TypedDict):
    job_id: int
    bid_id: int
    tradesperson_id: int
    business_name: NotRequired[str]
    version: int
    valid_until: str
    options: list[QuoteOptionV1]
    changes: NotRequired[list[str]]


QUOTE_PUBLISHED = job_event("quote.published", "A tradesperson published a quote version.", payload=QuotePublishedV1)
QUOTE_ACCEPTED = job_event("quote.accepted", "The customer accepted a quote option.", payload=QuoteAcceptedV1)


# --- the price book (aggregate "pro", key = the business's user id: its changes stay in order) ---
# Nothing reacts to these but the audit log: a business's own record of who changed which saved price when.


class PriceBookItemChangedV1(TypedDict):
    business_id: int
    item_id: int
    action: Literal["added", "changed", "archived", "restored"]
    name: str
    kind: str
    unit_price: str
    active: bool
    at: str


class QuoteTemplateChangedV1(TypedDict):
    business_id: int
    template_id: int
    action: Literal["added", "changed", "archived", "restored"]
    name: str
    line_count: int
    active: bool
    at: str


PRICE_BOOK_ITEM_CHANGED = register(
    "price_book.item_changed",
    topic=Topic.JOBS,
    aggregate_type="pro",
    description="A business added, changed, archived or restored a price book item.",
    payload=PriceBookItemChangedV1,
)
QUOTE_TEMPLATE_CHANGED = register(
    "price_book.template_changed",
    topic=Topic.JOBS,
    aggregate_type="pro",
    description="A business added, changed, archived or restored a quote template.",
    payload=QuoteTemplateChangedV1,
)


# --- service plans (quotes/agreements.py): key = agreement id -------------------------------------------


class AgreementCreatedV1(TypedDict):
    agreement_id: int
    customer_id: int
    tradesperson_id: int
    title: str
    price: str
    interval_months: int
    next_due: str
    created_from_job_id: NotRequired[int]


class AgreementAcceptedV1(TypedDict):
    agreement_id: int
    customer_id: int
    tradesperson_id: int
    next_due: str


class AgreementOccurrenceCreatedV1(TypedDict):
    agreement_id: int
    job_id: int
    due_date: str
    customer_id: int
    tradesperson_id: int


class AgreementCancelledV1(TypedDict):
    agreement_id: int
    customer_id: int
    tradesperson_id: int
    by: Literal["customer", "tradesperson", "staff"]


AGREEMENT_CREATED = register(
    "agreement.created",
    topic=Topic.JOBS,
    aggregate_type="agreement",
    description="A business offered a customer a service plan (recurring work); nothing is booked until they accept.",
    payload=AgreementCreatedV1,
)
AGREEMENT_ACCEPTED = register(
    "agreement.accepted",
    topic=Topic.JOBS,
    aggregate_type="agreement",
    description="The customer accepted a service plan; the clock books its visits from now on.",
    payload=AgreementAcceptedV1,
)
AGREEMENT_OCCURRENCE_CREATED = register(
    "agreement.occurrence_created",
    topic=Topic.JOBS,
    aggregate_type="agreement",
    description="The clock posted the job for a plan's next visit (its quote, deposit and slot follow as job events).",
    payload=AgreementOccurrenceCreatedV1,
)
AGREEMENT_CANCELLED = register(
    "agreement.cancelled",
    topic=Topic.JOBS,
    aggregate_type="agreement",
    description="The customer or the business cancelled a service plan (or the customer declined the offer).",
    payload=AgreementCancelledV1,
)
