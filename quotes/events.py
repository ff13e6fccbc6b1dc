"""Quote event types and their payloads, on the job topic (key = job id) so they are ordered with the job's bids and
award and reach the job's live pages and timeline. Schemas: marketplace/events/schemas/<type>.v<N>.json.
"""

from typing import NotRequired, TypedDict

from marketplace.events.schemas import job_event


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
