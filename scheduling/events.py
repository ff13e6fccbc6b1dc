"""Appointment event types and their payloads (job topic, key = job id, so they are ordered with the job's award and
status).

Schemas: marketplace/events/schemas/<type>.v1.json.
"""

from typing import Literal, NotRequired, TypedDict

from marketplace.events.schemas import job_event, register
from marketplace.events.topics import Topic


class AppointmentFields(TypedDict):
    """What booking, rescheduling and cancelling an appointment all carry."""

    job_id: int
    appointment_id: int
    worker_id: int
    tradesperson_id: NotRequired[int]
    starts_at: str
    ends_at: str
    time_zone: NotRequired[str]
    by: NotRequired[str]


class AppointmentBookedV1(AppointmentFields):
    pass


class AppointmentCancelledV1(AppointmentFields):
    reason: NotRequired[str]


class AppointmentConfirmedV1(TypedDict):
    job_id: int
    appointment_id: int
    worker_id: int
    tradesperson_id: int
    starts_at: str
    ends_at: str
    time_zone: NotRequired[str]
    by: NotRequired[str]


class AppointmentRescheduleRequestedV1(AppointmentFields):
    via: Literal["web", "sms"]


class AppointmentFlaggedV1(TypedDict):
    job_id: int
    appointment_id: int
    worker_id: int
    tradesperson_id: NotRequired[int]
    customer_id: NotRequired[int]
    starts_at: str
    ends_at: str
    time_zone: NotRequired[str]
    prerequisite_job_id: int
    prerequisite_ends_at: NotRequired[str | None]
    reason: str
    suggestions: list[str]


class AppointmentProposedV1(TypedDict):
    job_id: int
    proposal_id: int
    worker_id: int
    tradesperson_id: int
    customer_id: int
    starts: list[str]
    duration_minutes: int
    time_zone: NotRequired[str]
    message: NotRequired[str]


class AppointmentReminderV1(TypedDict):
    job_id: int
    appointment_id: int
    worker_id: int
    tradesperson_id: int
    customer_id: int
    kind: Literal["24h", "1h"]
    starts_at: str
    ends_at: str
    time_zone: NotRequired[str]
    confirmed: NotRequired[bool]


class AppointmentRescheduledV1(AppointmentFields):
    previous_worker_id: NotRequired[int]
    previous_starts_at: str
    previous_ends_at: str


class AppointmentUnflaggedV1(TypedDict):
    job_id: int
    appointment_id: int
    cause: str


class DependencyAddedV1(TypedDict):
    job_id: int
    depends_on_id: int
    customer_id: int


class DependencyRemovedV1(TypedDict):
    job_id: int
    depends_on_id: int
    customer_id: int


WorkerAvailabilityChangedV1 = TypedDict(
    "WorkerAvailabilityChangedV1",
    {
        "worker_id": int,
        "owner_id": int,
        "change": Literal["created", "hours", "time_off", "worker"],
        "from": NotRequired[str],
        "to": NotRequired[str],
    },
)


APPOINTMENT_BOOKED = job_event("appointment.booked", "An appointment for the job was booked with a worker.", payload=AppointmentBookedV1)
APPOINTMENT_RESCHEDULED = job_event(
    "appointment.rescheduled", "The job's appointment moved to another time or worker.", payload=AppointmentRescheduledV1
)
APPOINTMENT_CANCELLED = job_event(
    "appointment.cancelled", "The job's appointment was cancelled; the job is awarded again.", payload=AppointmentCancelledV1
)
APPOINTMENT_FLAGGED = job_event(
    "appointment.flagged",
    "The job's appointment no longer fits its dependencies; carries suggested new starts.",
    payload=AppointmentFlaggedV1,
)
APPOINTMENT_UNFLAGGED = job_event(
    "appointment.unflagged", "The job's appointment fits its dependencies again.", payload=AppointmentUnflaggedV1
)
DEPENDENCY_ADDED = job_event("dependency.added", "The job now waits for another job of the same customer.", payload=DependencyAddedV1)
DEPENDENCY_REMOVED = job_event("dependency.removed", "The job no longer waits for that other job.", payload=DependencyRemovedV1)
APPOINTMENT_PROPOSED = job_event(
    "appointment.proposed", "The tradesperson offered start times; the customer books one of them.", payload=AppointmentProposedV1
)
APPOINTMENT_CONFIRMED = job_event("appointment.confirmed", "The customer confirmed the appointment time.", payload=AppointmentConfirmedV1)
APPOINTMENT_RESCHEDULE_REQUESTED = job_event(
    "appointment.reschedule_requested",
    "The customer asked for another time (e.g. replied R to a reminder); the business moves it.",
    payload=AppointmentRescheduleRequestedV1,
)
APPOINTMENT_REMINDER = job_event(
    "appointment.reminder", "A reminder of the appointment is due (once per time and kind).", payload=AppointmentReminderV1
)
WORKER_AVAILABILITY_CHANGED = register(
    "worker.availability_changed",
    topic=Topic.JOBS,
    aggregate_type="worker",
    description="A worker's hours, time off, buffer or active flag changed; capacity read models recompute.",
    payload=WorkerAvailabilityChangedV1,
)
