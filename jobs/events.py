"""Job event types and their payloads. Schemas: marketplace/events/schemas/<type>.v<N>.json.

Every event here belongs to the job aggregate (key = job id), including leads and
bids, so everything that happens to one job is ordered on one partition.  One TypedDict
per schema version (``JobPostedV3``); the newest is what the emitter builds and the
handlers read (``event.payload(JobPostedV3)``).
"""

from typing import Literal, NotRequired, TypedDict

from marketplace.events.schemas import EventType, job_event, register
from marketplace.events.topics import Topic


class JobAwardedV1(TypedDict):
    job_id: int
    status: str
    bid_id: int
    tradesperson_id: int
    amount: str


class JobAwardedV2(JobAwardedV1):
    customer_id: NotRequired[int]


class JobCancelledV1(TypedDict):
    job_id: int
    status: str
    reason: str


class JobCancelledV2(JobCancelledV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class JobNoShowV1(TypedDict):
    """Someone was not there for a booked appointment (decided by the cancellation policy from the visit's events)."""

    job_id: int
    side: Literal["tradesperson", "customer"]
    customer_id: int
    tradesperson_id: int
    starts_at: str
    fee: str


class JobExpiredV1(TypedDict):
    job_id: int
    status: str


class JobExpiredV2(JobExpiredV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class TradeRef(TypedDict):
    slug: str
    name: str


class JobPostedV1(TypedDict):
    job_id: int
    customer_id: int
    trade: TradeRef
    title: str
    description: str
    latitude: str
    longitude: str
    place: NotRequired[str]
    budget_min: str
    budget_max: str
    is_emergency: bool
    status: str
    posted_at: str


class JobPostedV2(JobPostedV1):
    window_start: NotRequired[str | None]
    window_end: NotRequired[str | None]
    expires_at: NotRequired[str]
    photo_urls: NotRequired[list[str]]


class JobAnswer(TypedDict):
    """One answer to a trade question (jobs/questions.py), as the job stores it and job.posted v3 carries it."""

    key: str
    label: str
    kind: str
    value: str | list[str]
    text: str
    photo_id: NotRequired[int]


class JobPostedV3(JobPostedV2):
    answers: NotRequired[list[JobAnswer]]


class JobSearchWidenedV1(TypedDict):
    job_id: int
    match_round: int
    radius_factor: float


class JobSearchWidenedV2(JobSearchWidenedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class JobDirectRequestedV1(TypedDict):
    """The customer asked one tradesperson first: only they get the lead until ``exclusive_until``."""

    job_id: int
    customer_id: int
    tradesperson_id: int  # the requested tradesperson
    business_name: str
    exclusive_until: str


class JobDirectRequestOpenedV1(TypedDict):
    """The requested tradesperson declined or did not bid in time: matching now invites others."""

    job_id: int
    customer_id: int
    tradesperson_id: int  # the requested tradesperson
    business_name: str
    reason: Literal["declined", "no_reply"]


class JobStatusChangedV1(TypedDict):
    job_id: int
    from_status: str
    status: str


class JobStatusChangedV2(JobStatusChangedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class JobUpdatedV1(TypedDict):
    job_id: int
    title: str
    description: str
    latitude: str
    longitude: str
    place: NotRequired[str]
    budget_min: str
    budget_max: str
    window_start: NotRequired[str | None]
    window_end: NotRequired[str | None]
    is_emergency: bool


class JobUpdatedV2(JobUpdatedV1):
    customer_id: NotRequired[int]
    tradesperson_id: NotRequired[int | None]


class JobUpdatedV3(JobUpdatedV2):
    """v3 adds what changed (so matching re-matches only when the place or the trade did) and the trade."""

    changed: NotRequired[list[str]]
    trade: NotRequired[TradeRef]


class LeadOfferedV1(TypedDict):
    lead_id: int
    job_id: int
    tradesperson_id: int
    match_round: int
    distance_km: str
    score: str
    title: NotRequired[str]
    trade: NotRequired[str]
    place: NotRequired[str]
    budget_min: NotRequired[str]
    budget_max: NotRequired[str]
    is_emergency: NotRequired[bool]


class LeadSeenV1(TypedDict):
    lead_id: int
    job_id: int
    tradesperson_id: int
    seen_at: str


class LeadWithdrawnV1(TypedDict):
    """Matching took a lead back: the job changed (place or trade) and no longer fits the tradesperson."""

    lead_id: int
    job_id: int
    tradesperson_id: int
    reason: Literal["job_changed"]
    withdrawn_at: str


class BidDecision(TypedDict):
    """What a change of a bid's status carries."""

    bid_id: int
    job_id: int
    tradesperson_id: int
    status: str
    reason: NotRequired[str]


class BidDeclinedV1(BidDecision):
    pass


class BidOffer(TypedDict):
    """What placing and revising a bid carry."""

    bid_id: int
    job_id: int
    tradesperson_id: int
    business_name: NotRequired[str]
    amount: str
    message: NotRequired[str]
    earliest_start: NotRequired[str | None]
    status: str
    revision: int
    lead_offered_at: NotRequired[str | None]


class BidPlacedV1(BidOffer):
    pass


class BidRevisedV1(BidOffer):
    previous_amount: str


class BidShortlistedV1(BidDecision):
    pass


class BidWithdrawnV1(BidDecision):
    pass


JOB_POSTED = job_event("job.posted", "A customer posted a job.", payload=JobPostedV3, older_payloads={1: JobPostedV1, 2: JobPostedV2})
JOB_UPDATED = job_event(
    "job.updated", "The customer edited an open job.", payload=JobUpdatedV3, older_payloads={1: JobUpdatedV1, 2: JobUpdatedV2}
)
JOB_CANCELLED = job_event("job.cancelled", "The customer cancelled the job.", payload=JobCancelledV2, older_payloads={1: JobCancelledV1})
JOB_NO_SHOW = job_event(
    "job.no_show", "A no-show ended a booked job: the tradesperson late past the limit, or the customer absent.", payload=JobNoShowV1
)
JOB_EXPIRED = job_event("job.expired", "An open job expired without an award.", payload=JobExpiredV2, older_payloads={1: JobExpiredV1})
JOB_AWARDED = job_event("job.awarded", "The customer accepted a bid.", payload=JobAwardedV2, older_payloads={1: JobAwardedV1})
JOB_STATUS_CHANGED = job_event(
    "job.status_changed", "A lifecycle step after the award.", payload=JobStatusChangedV2, older_payloads={1: JobStatusChangedV1}
)
JOB_SEARCH_WIDENED = job_event(
    "job.search_widened", "Matching widened for a job with no bids.", payload=JobSearchWidenedV2, older_payloads={1: JobSearchWidenedV1}
)
JOB_DIRECT_REQUESTED = job_event(
    "job.direct_requested", "The customer asked one tradesperson first; only they have the lead for now.", payload=JobDirectRequestedV1
)
JOB_DIRECT_REQUEST_OPENED = job_event(
    "job.direct_request_opened",
    "The requested tradesperson declined or did not bid in time; matching invites others.",
    payload=JobDirectRequestOpenedV1,
)
LEAD_OFFERED = job_event("lead.offered", "Matching offered the job to a tradesperson.", payload=LeadOfferedV1)
LEAD_WITHDRAWN = job_event("lead.withdrawn", "Matching withdrew a lead: the job changed and no longer fits.", payload=LeadWithdrawnV1)
LEAD_SEEN = job_event("lead.seen", "The tradesperson opened the lead.", payload=LeadSeenV1)
BID_PLACED = job_event("bid.placed", "A tradesperson bid.", payload=BidPlacedV1)
BID_REVISED = job_event("bid.revised", "A tradesperson revised their bid.", payload=BidRevisedV1)
BID_WITHDRAWN = job_event("bid.withdrawn", "A tradesperson withdrew their bid.", payload=BidWithdrawnV1)
BID_SHORTLISTED = job_event("bid.shortlisted", "The customer shortlisted a bid.", payload=BidShortlistedV1)
BID_DECLINED = job_event("bid.declined", "A bid was declined.", payload=BidDeclinedV1)


# --- credentials (aggregate "pro", key = the tradesperson's user id: one pro's badge changes stay in order) ---


class CredentialChangedV1(TypedDict):
    """What every ``credential.*`` event carries: which credential, whose, and where it now stands."""

    credential_id: int
    tradesperson_id: int
    kind: str
    status: Literal["pending", "verified", "rejected", "expired"]
    expires_on: str
    at: str


def _credential_event(name: str, description: str) -> EventType[CredentialChangedV1]:
    return register(name, topic=Topic.JOBS, aggregate_type="pro", description=description, payload=CredentialChangedV1)


CREDENTIAL_VERIFIED = _credential_event("credential.verified", "Staff checked a credential: its badge shows until it expires.")
CREDENTIAL_REJECTED = _credential_event("credential.rejected", "Staff rejected a credential (or withdrew a verified one): no badge.")
CREDENTIAL_EXPIRED = _credential_event("credential.expired", "A verified credential passed its expiry date (the clock): its badge drops.")
CREDENTIAL_REMOVED = _credential_event("credential.removed", "The tradesperson removed a credential; a badge it gave drops.")
