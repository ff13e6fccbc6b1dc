"""Job event types (the schemas live in marketplace/events/schemas/job.*.json)."""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic

JOB_POSTED = register("job.posted", topic=Topic.JOBS, aggregate_type="job", description="A customer posted a job.")
JOB_CANCELLED = register("job.cancelled", topic=Topic.JOBS, aggregate_type="job", description="The customer cancelled an open job.")
