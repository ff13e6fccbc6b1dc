"""Appointment event types (job topic, key = job id, so they are ordered with the job's award and status).

Schemas: marketplace/events/schemas/appointment.<action>.v1.json.
"""

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


def _job_event(name: str, description: str):  # type: ignore[no-untyped-def]
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description)


APPOINTMENT_BOOKED = _job_event("appointment.booked", "An appointment for the job was booked with a worker.")
APPOINTMENT_RESCHEDULED = _job_event("appointment.rescheduled", "The job's appointment moved to another time or worker.")
APPOINTMENT_CANCELLED = _job_event("appointment.cancelled", "The job's appointment was cancelled; the job is awarded again.")
APPOINTMENT_FLAGGED = _job_event(
    "appointment.flagged", "The job's appointment no longer fits its dependencies; carries suggested new starts."
)
APPOINTMENT_UNFLAGGED = _job_event("appointment.unflagged", "The job's appointment fits its dependencies again.")
DEPENDENCY_ADDED = _job_event("dependency.added", "The job now waits for another job of the same customer.")
DEPENDENCY_REMOVED = _job_event("dependency.removed", "The job no longer waits for that other job.")
APPOINTMENT_PROPOSED = _job_event("appointment.proposed", "The tradesperson offered start times; the customer books one of them.")
APPOINTMENT_CONFIRMED = _job_event("appointment.confirmed", "The customer confirmed the appointment time.")
APPOINTMENT_REMINDER = _job_event("appointment.reminder", "A reminder of the appointment is due (once per time and kind).")
WORKER_AVAILABILITY_CHANGED = register(
    "worker.availability_changed",
    topic=Topic.JOBS,
    aggregate_type="worker",
    description="A worker's hours, time off, buffer or active flag changed; capacity read models recompute.",
)
