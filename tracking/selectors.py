"""Reads for tracking, and who may see or do what on a job's visit.

Parties of a visit (:func:`party_of`):

- ``customer``: the job's customer;
- ``tradesperson``: the awarded business's owner (the tradesperson whose bid won);
- ``worker``: the login of the worker booked for the job (a business may send an employee);
- ``staff``: may read the timeline, never a position;
- anyone else: not a party.

Privacy (the rule the API, the live stream and the consumer all follow): a position (the last
fix, the trail and the ETA) is shown to the customer only while the visit is ``on_the_way``.
The tradesperson and the booked worker always see their own.  Staff never see positions in
the API (the trail is purged after ``TRACKING['PING_RETENTION_HOURS']`` anyway).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, overload

from django.conf import settings

from jobs.models import Job
from jobs.roles import JobRole
from jobs.selectors import job_for_viewer
from marketplace.accounts.models import User
from scheduling.models import Appointment
from scheduling.roles import appointment_role
from scheduling.selectors import booked_appointment

from .models import Stage, TrackPoint, Visit

# The parties of a visit are job roles (scheduling.roles.appointment_role decides them); a bidder is not one.
CUSTOMER, TRADESPERSON, WORKER, STAFF = JobRole.CUSTOMER, JobRole.TRADESPERSON, JobRole.WORKER, JobRole.STAFF
ACTING_PARTIES = (TRADESPERSON, WORKER)
TRAIL_POINTS = 500
# Fixes from just before tapping "on the way" (the app may have buffered them) are still on the way.
SET_OFF_GRACE = timedelta(minutes=1)

# What each action does: the stages it may start from and the stage it leads to.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "on_the_way": ((Stage.SCHEDULED,), Stage.ON_THE_WAY),
    "arrived": ((Stage.ON_THE_WAY,), Stage.ARRIVED),
    "start": ((Stage.ARRIVED,), Stage.WORKING),
    "pause": ((Stage.WORKING,), Stage.PAUSED),
    "resume": ((Stage.PAUSED,), Stage.WORKING),
    "complete": ((Stage.WORKING, Stage.PAUSED), Stage.COMPLETED),
}


@overload
def utc_iso(moment: datetime) -> str: ...
@overload
def utc_iso(moment: datetime | None) -> str | None: ...
def utc_iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def party_of(user: User, job: Job, appointment: Appointment | None) -> JobRole | None:
    """Which side of the visit ``user`` is on (see the module docstring), or None."""
    role = appointment_role(user, job, appointment)
    if role is JobRole.BIDDER:
        # Bidding makes no one a party of the visit; a staff member who was offered the job is still staff here.
        return STAFF if user.is_staff else None
    return None if role is JobRole.NONE else role


def job_for_tracking(*, user: User, job_id: int) -> tuple[Job, Appointment | None] | None:
    """The job and its booked appointment if ``user`` may see the job (or is its booked worker); None otherwise."""
    job = job_for_viewer(user=user, job_id=job_id)
    appointment = booked_appointment(job_id=job_id)
    if job is None:
        if appointment is None or appointment.worker.user_id != user.pk:
            return None
        job = Job.objects.select_related("trade", "customer").get(pk=job_id)
    return job, appointment


def visit_of(job_id: int) -> Visit | None:
    return Visit.objects.select_related("worker").filter(job_id=job_id).first()


def position_visible(*, party: JobRole | None, stage: str) -> bool:
    if party in ACTING_PARTIES:
        return True
    return party == CUSTOMER and stage == Stage.ON_THE_WAY


def job_state_problem(action: str, job: Job, *, has_appointment: bool) -> tuple[str, str] | None:
    """(code, message) if the job's own state rules ``action`` out now, else None."""
    if job.status in (Job.Status.CANCELLED, Job.Status.EXPIRED):
        return "job_not_active", f"This job is {job.get_status_display().lower()}; there is no visit to update."
    if action in ("on_the_way", "arrived", "start"):
        if job.status != Job.Status.SCHEDULED or not has_appointment:
            if job.status == Job.Status.COMPLETED:
                return "job_not_active", "This job is completed."
            return "not_scheduled", "Book an appointment for this job before setting off."
    elif job.status != Job.Status.IN_PROGRESS:
        return "not_started", "Start the work first."
    return None


def allowed_actions(*, party: JobRole | None, job: Job, stage: str, has_appointment: bool) -> list[str]:
    """The actions this party could take now (what a page offers as buttons)."""
    if party not in ACTING_PARTIES:
        return []
    return [
        name
        for name, (sources, _) in ACTIONS.items()
        if stage in sources and job_state_problem(name, job, has_appointment=has_appointment) is None
    ]


def eta_payload(*, minutes: float, at: datetime | None, distance_km: float | None, speed_kmh: float | None, late: bool) -> dict[str, Any]:
    return {
        "minutes": round(minutes, 1),
        "at": utc_iso(at),
        "distance_km": round(distance_km or 0.0, 3),
        "speed_kmh": round(speed_kmh or 0.0, 1),
        "late": late,
    }


def eta_body(visit: Visit) -> dict[str, Any] | None:
    if visit.eta_minutes is None or visit.stage != Stage.ON_THE_WAY:
        return None
    return eta_payload(
        minutes=visit.eta_minutes, at=visit.eta_at, distance_km=visit.eta_distance_km, speed_kmh=visit.eta_speed_kmh, late=visit.eta_late
    )


def trail(visit: Visit, limit: int = TRAIL_POINTS) -> list[list[Any]]:
    """The visit's latest points since it set off, oldest first: [[lat, lng, at], ...]."""
    points = TrackPoint.objects.filter(visit=visit)
    if visit.on_the_way_at is not None:
        points = points.filter(recorded_at__gte=visit.on_the_way_at - SET_OFF_GRACE)
    rows = list(points.order_by("-recorded_at").values_list("lat", "lng", "recorded_at")[:limit])
    rows.reverse()
    return [[lat, lng, utc_iso(at)] for lat, lng, at in rows]


def visit_body(*, job: Job, appointment: Appointment | None, viewer: User, visit: Visit | None = None) -> dict[str, Any]:
    """The GET /api/jobs/<id>/visit/ body for ``viewer`` (privacy applied here)."""
    visit = visit if visit is not None else visit_of(job.pk)
    party = party_of(viewer, job, appointment)
    stage = visit.stage if visit else Stage.SCHEDULED
    body: dict[str, Any] = {
        "job": job.pk,
        "stage": stage,
        "timeline": [],
        "destination": {"lat": float(job.latitude), "lng": float(job.longitude)},
        "position": None,
        "trail": [],
        "eta": None,
        "appointment": {"starts_at": utc_iso(appointment.starts_at), "ends_at": utc_iso(appointment.ends_at)} if appointment else None,
        "worker": {"id": appointment.worker_id, "name": appointment.worker.name} if appointment else None,
        "arrived_auto": bool(visit and visit.arrived_auto),
        "late_alerted_at": utc_iso(visit.drift_alerted_at) if visit else None,
        "actions": allowed_actions(party=party, job=job, stage=stage, has_appointment=appointment is not None),
        "geofence_m": settings.TRACKING["GEOFENCE_RADIUS_M"],
    }
    if visit is None:
        return body
    body["timeline"] = [{"stage": s, "at": utc_iso(at), "auto": auto} for s, at, auto in visit.steps.values_list("stage", "at", "auto")]
    if position_visible(party=party, stage=stage):
        if visit.last_recorded_at is not None and visit.last_lat is not None and visit.last_lng is not None:
            body["position"] = {
                "lat": visit.last_lat,
                "lng": visit.last_lng,
                "at": utc_iso(visit.last_recorded_at),
                "accuracy_m": visit.last_accuracy_m,
            }
        body["trail"] = trail(visit)
        body["eta"] = eta_body(visit)
    return body
