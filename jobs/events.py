"""Job event types. Schemas: marketplace/events/schemas/<type>.v<N>.json.

Every event here belongs to the job aggregate (key = job id), including leads and
bids, so everything that happens to one job is ordered on one partition.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


def _job_event(name: str, description: str):  # type: ignore[no-untyped-def]
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description)


JOB_POSTED = _job_event("job.posted", "A customer posted a job.")
JOB_UPDATED = _job_event("job.updated", "The customer edited an open job.")
JOB_CANCELLED = _job_event("job.cancelled", "The customer cancelled the job.")
JOB_EXPIRED = _job_event("job.expired", "An open job expired without an award.")
JOB_AWARDED = _job_event("job.awarded", "The customer accepted a bid.")
JOB_STATUS_CHANGED = _job_event("job.status_changed", "A lifecycle step after the award.")
JOB_SEARCH_WIDENED = _job_event("job.search_widened", "Matching widened for a job with no bids.")
LEAD_OFFERED = _job_event("lead.offered", "Matching offered the job to a tradesperson.")
LEAD_SEEN = _job_event("lead.seen", "The tradesperson opened the lead.")
BID_PLACED = _job_event("bid.placed", "A tradesperson bid.")
BID_REVISED = _job_event("bid.revised", "A tradesperson revised their bid.")
BID_WITHDRAWN = _job_event("bid.withdrawn", "A tradesperson withdrew their bid.")
BID_SHORTLISTED = _job_event("bid.shortlisted", "The customer shortlisted a bid.")
BID_DECLINED = _job_event("bid.declined", "A bid was declined.")
