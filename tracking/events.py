"""Tracking event types.

- ``visit.*`` and ``tracking.eta_drift`` are steps of a job: topic ``marketplace.jobs``, key = job id,
  so they are ordered with the job's award, appointment and status events.  Emitted through the
  outbox by ``tracking.services``.
- ``tracking.ping`` is one GPS fix: topic ``marketplace.tracking`` (12 partitions, one day), key =
  worker id.  Produced straight from the request by ``tracking.services.pings_accept`` (see its
  docstring for why pings skip the outbox).

Schemas: marketplace/events/schemas/<type>.v1.json.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


def _job_event(name: str, description: str):  # type: ignore[no-untyped-def]
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description)


VISIT_ON_THE_WAY = _job_event("visit.on_the_way", "The tradesperson set off for the job.")
VISIT_ARRIVED = _job_event("visit.arrived", "The tradesperson arrived (tapped, or detected by the geofence: auto).")
VISIT_PAUSED = _job_event("visit.paused", "Work on site was paused.")
VISIT_RESUMED = _job_event("visit.resumed", "Work on site resumed.")
VISIT_CALLED_OFF = _job_event(
    "visit.called_off", "The trip was called off before work began (appointment or job cancelled): back to scheduled."
)
ETA_DRIFT = _job_event("tracking.eta_drift", "The tradesperson on the way will miss the appointment start (once per visit).")
PING = register(
    "tracking.ping",
    topic=Topic.TRACKING,
    aggregate_type="worker",
    description="One GPS fix of a tradesperson on the way (straight to Kafka, key = worker id).",
)
