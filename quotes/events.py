"""Quote event types, on the job topic (key = job id) so they are ordered with the job's bids and
award and reach the job's live pages and timeline. Schemas: marketplace/events/schemas/<type>.v<N>.json.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


def _job_event(name: str, description: str):  # type: ignore[no-untyped-def]
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description)


QUOTE_PUBLISHED = _job_event("quote.published", "A tradesperson published a quote version.")
QUOTE_ACCEPTED = _job_event("quote.accepted", "The customer accepted a quote option.")
