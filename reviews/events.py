"""Review event types and their payloads: steps of a job, so topic ``marketplace.jobs``, key = job id (ordered with
the job's completion).

Emitted through the outbox by ``reviews.services``; the ``ratings`` consumer (``reviews.projections``) folds them
into the rating summaries.  ``review.posted`` and ``review.moderated`` carry the ratings in full, so a summary can be
rebuilt from the log alone.  Schemas: marketplace/events/schemas/<type>.v1.json.
"""

from typing import Literal, NotRequired, TypedDict

from marketplace.events.schemas import EventType, job_event, register
from marketplace.events.topics import Topic


class ReviewAspects(TypedDict):
    punctuality: int
    quality: int
    value: int
    communication: int


class ReviewFields(TypedDict):
    """What posting and moderating a review carry."""

    review_id: int
    job_id: int
    customer_id: int
    tradesperson_id: int
    rating: int
    aspects: ReviewAspects


class ReviewModeratedV1(ReviewFields):
    hidden: bool
    reason: str
    moderator_id: NotRequired[int | None]
    posted_at: str
    moderated_at: str


class ReviewPostedV1(ReviewFields):
    comment: str
    posted_at: str
    hidden: bool


class ReviewRepliedV1(TypedDict):
    review_id: int
    job_id: int
    customer_id: int
    tradesperson_id: int
    reply: str
    replied_at: str


REVIEW_POSTED = job_event("review.posted", "The job's customer rated the tradesperson who did it.", payload=ReviewPostedV1)
REVIEW_REPLIED = job_event("review.replied", "The tradesperson replied to the review.", payload=ReviewRepliedV1)
REVIEW_MODERATED = job_event("review.moderated", "Staff hid or restored the review (with a reason).", payload=ReviewModeratedV1)


# --- moderation decisions (aggregate "pro", key = the tradesperson's user id: one pro's page changes stay in order) ---


class ContentModeratedV1(TypedDict):
    """What ``content.hidden`` and ``content.restored`` carry: which public text, whose page it is on, who decided."""

    target: Literal["review", "reply", "profile"]
    object_id: int
    tradesperson_id: int
    action: Literal["approve", "hide", "restore", "auto_hide"]
    reason: str
    moderator_id: int | None
    at: str


def _content_event(name: str, description: str) -> EventType[ContentModeratedV1]:
    return register(name, topic=Topic.JOBS, aggregate_type="pro", description=description, payload=ContentModeratedV1)


CONTENT_HIDDEN = _content_event(
    "content.hidden", "A review, reply or public profile left public pages: staff hid it, or reports did until staff decide."
)
CONTENT_RESTORED = _content_event("content.restored", "Staff approved or restored a review, reply or public profile: it is public again.")
