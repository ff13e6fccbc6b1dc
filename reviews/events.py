"""Review event types: steps of a job, so topic ``marketplace.jobs``, key = job id (ordered with the job's completion).

Emitted through the outbox by ``reviews.services``; the ``ratings`` consumer (``reviews.projections``) folds them
into the rating summaries.  ``review.posted`` and ``review.moderated`` carry the ratings in full, so a summary can be
rebuilt from the log alone.  Schemas: marketplace/events/schemas/<type>.v1.json.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


def _job_event(name: str, description: str):  # type: ignore[no-untyped-def]
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description)


REVIEW_POSTED = _job_event("review.posted", "The job's customer rated the tradesperson who did it.")
REVIEW_REPLIED = _job_event("review.replied", "The tradesperson replied to the review.")
REVIEW_MODERATED = _job_event("review.moderated", "Staff hid or restored the review (with a reason).")
