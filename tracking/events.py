"""Tracking event types and their payloads.

- ``visit.*`` and ``tracking.eta_drift`` are steps of a job: topic ``marketplace.jobs``, key = job id,
  so they are ordered with the job's award, appointment and status events.  Emitted through the
  outbox by ``tracking.services``.
- ``tracking.ping`` is one GPS fix: topic ``marketplace.tracking`` (12 partitions, one day), key =
  worker id.  Produced straight from the request by ``tracking.services.pings_accept`` (see its
  docstring for why pings skip the outbox).

Schemas: marketplace/events/schemas/<type>.v1.json.
"""

from typing import Literal, NotRequired, TypedDict

from marketplace.events.schemas import job_event, register
from marketplace.events.topics import Topic


class VisitStep(TypedDict):
    """What every visit event carries: the job, the visit, who is on it and the step it reached."""

    job_id: int
    visit_id: int
    worker_id: int
    tradesperson_id: int
    customer_id: int
    stage: str
    at: str


class VisitArrivedV1(VisitStep):
    auto: bool
    distance_m: NotRequired[float | None]


class VisitCalledOffV1(VisitStep):
    from_stage: Literal["on_the_way", "arrived"]
    reason: Literal["appointment_cancelled", "job_cancelled"]


class DestinationV1(TypedDict):
    lat: NotRequired[float]
    lng: NotRequired[float]


class VisitOnTheWayV1(VisitStep):
    destination: NotRequired[DestinationV1]


class VisitPausedV1(VisitStep):
    pass


class VisitResumedV1(VisitStep):
    pass


class TrackingEtaDriftV1(TypedDict):
    job_id: int
    visit_id: int
    worker_id: int
    tradesperson_id: int
    customer_id: int
    stage: str
    at: str
    eta_at: str
    eta_minutes: float
    late_minutes: float
    appointment_starts_at: str
    appointment_ends_at: str


class TrackingPingV1(TypedDict):
    job_id: int
    worker_id: int
    lat: float
    lng: float
    accuracy_m: float
    recorded_at: str
    received_at: str
    speed_mps: NotRequired[float | None]
    heading: NotRequired[float | None]


VISIT_ON_THE_WAY = job_event("visit.on_the_way", "The tradesperson set off for the job.", payload=VisitOnTheWayV1)
VISIT_ARRIVED = job_event("visit.arrived", "The tradesperson arrived (tapped, or detected by the geofence: auto).", payload=VisitArrivedV1)
VISIT_PAUSED = job_event("visit.paused", "Work on site was paused.", payload=VisitPausedV1)
VISIT_RESUMED = job_event("visit.resumed", "Work on site resumed.", payload=VisitResumedV1)
VISIT_CALLED_OFF = job_event(
    "visit.called_off",
    "The trip was called off before work began (appointment or job cancelled): back to scheduled.",
    payload=VisitCalledOffV1,
)
ETA_DRIFT = job_event(
    "tracking.eta_drift", "The tradesperson on the way will miss the appointment start (once per visit).", payload=TrackingEtaDriftV1
)
PING = register(
    "tracking.ping",
    topic=Topic.TRACKING,
    aggregate_type="worker",
    description="One GPS fix of a tradesperson on the way (straight to Kafka, key = worker id).",
    payload=TrackingPingV1,
)
