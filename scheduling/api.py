"""Scheduling API: free slots, a job's appointment, workers' availability and the calendar.

Thin views over ``scheduling.services`` (every write) and ``scheduling.selectors`` /
``scheduling.slots`` (every read).  As in the jobs API, a job you may not see is 404 (the jobs
selector decides); an action you may not take on one you can see is 403; "not now" is 409.
A refused time is 409 with ``error.suggestions``: the next free starts (UTC, ISO 8601), which
the client can offer instead.  Times go in with an offset (a naive time is 400 ``naive_time``)
and come out in UTC plus the viewer's local rendering.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors as job_selectors
from jobs.api import job_or_404
from jobs.models import Job
from jobs.roles import PARTIES, job_role
from marketplace.accounts.models import User
from marketplace.api import ErrorSerializer, IsTradesperson, errors, request_user, valid
from marketplace.errors import Refusal, ServiceError

from . import dispatch, presenters, selectors, services, slots
from .models import Appointment, SlotProposal, Worker
from .serializers import (
    MAX_CALENDAR_DAYS,
    AppointmentBookInputSerializer,
    AppointmentCancelInputSerializer,
    AppointmentOutputSerializer,
    AppointmentRescheduleInputSerializer,
    CalendarFeedOutputSerializer,
    CalendarOutputSerializer,
    CalendarQuerySerializer,
    DependenciesOutputSerializer,
    DependencyInputSerializer,
    DispatchBookInputSerializer,
    DispatchPlaceInputSerializer,
    DispatchQuerySerializer,
    EmergencyReserveInputSerializer,
    HoursInputSerializer,
    MyAppointmentsOutputSerializer,
    ProposalAcceptInputSerializer,
    ProposalInputSerializer,
    ProposalOutputSerializer,
    RouteQuerySerializer,
    SlotQuerySerializer,
    SlotsOutputSerializer,
    TimeOffInputSerializer,
    TimeOffOutputSerializer,
    WorkerOutputSerializer,
    local_iso,
    local_label,
    utc_iso,
)
from .team import dispatch_business, membership

# At most this many slots per worker in one answer (a week of half-hour starts is far fewer).
SLOTS_PER_WORKER = 400

SLOT_TAKEN_409 = OpenApiResponse(
    ErrorSerializer,
    description="The time is not free (slot_taken, outside_working_hours, time_off), or the job is not bookable now "
    "(job_not_awarded, already_scheduled, not_booked, worker_inactive). A refused time carries `error.suggestions`: "
    "the next free starts (UTC, ISO 8601) for the same worker and duration.",
)


class SchedulingApiView(APIView):
    """Adds ``suggestions`` (ISO starts, UTC) to the error of a refused time."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        error = response.data.get("error") if isinstance(response.data, dict) else None
        if isinstance(exc, services.SlotUnavailable) and response.status_code == status.HTTP_409_CONFLICT and isinstance(error, dict):
            error["suggestions"] = [utc_iso(s) for s in exc.suggestions]
        return response


def _zone(request: Request) -> str:
    return request_user(request).time_zone or "UTC"


def _check_party(job: Job, viewer: User, *, staff: bool = False) -> None:
    """The job's customer or the awarded tradesperson (and staff when ``staff``); anyone else who can see the job is 403."""
    # is_staff, not JobRole.STAFF: a staff member who was offered the job as a lead is a bidder there.
    if (staff and viewer.is_staff) or job_role(viewer, job) in PARTIES:
        return
    raise ServiceError(
        "Only the job's customer or the tradesperson doing it can see its schedule.", code="forbidden", kind=Refusal.FORBIDDEN
    )


def _worker_or_400(worker_id: int, field: str = "worker") -> Worker:
    worker = Worker.objects.filter(pk=worker_id).first()
    if worker is None:
        raise exceptions.ValidationError({field: ["No such worker."]})
    return worker


def _own_worker_or_404(request: Request, worker_id: int) -> Worker:
    worker = selectors.workers_managed_by(request_user(request)).filter(pk=worker_id).first()
    if worker is None:
        raise exceptions.NotFound("No such worker in your business.")
    return worker


def _booked_or_404(job: Job) -> Appointment:
    appointment = selectors.booked_appointment(job_id=job.pk)
    if appointment is None:
        raise exceptions.NotFound("This job has no booked appointment.")
    return appointment


def appointment_body(appointment: Appointment, zone: str) -> dict[str, Any]:
    return {
        "id": appointment.pk,
        "job": appointment.job_id,
        "job_title": appointment.job.title,
        "job_place": appointment.job.place,
        "worker": appointment.worker_id,
        "worker_name": appointment.worker.name,
        "worker_time_zone": appointment.worker.time_zone,
        "status": appointment.status,
        "starts_at": utc_iso(appointment.starts_at),
        "ends_at": utc_iso(appointment.ends_at),
        "starts_at_local": local_iso(appointment.starts_at, zone),
        "ends_at_local": local_iso(appointment.ends_at, zone),
        "starts_label": local_label(appointment.starts_at, zone),
        "time_zone": zone,
        "travel_buffer_minutes": appointment.travel_buffer_minutes,
        "ends_label": appointment.ends_at.astimezone(ZoneInfo(zone)).strftime("%H:%M"),
        "confirmed_at": utc_iso(appointment.confirmed_at) if appointment.confirmed_at else None,
        "confirmed_via": appointment.confirmed_via,
        "reschedule_requested_at": utc_iso(appointment.reschedule_requested_at) if appointment.reschedule_requested_at else None,
        "conflict_reason": appointment.conflict_reason,
        "suggestions": [utc_iso(s) for s in selectors.flag_suggestions(appointment)] if appointment.flagged_at else [],
    }


def _appointment_response(request: Request, appointment: Appointment, status_code: int = status.HTTP_200_OK) -> Response:
    appointment = Appointment.objects.select_related("job", "worker").get(pk=appointment.pk)
    return Response(AppointmentOutputSerializer(appointment_body(appointment, _zone(request))).data, status=status_code)


# --- slots ------------------------------------------------------------------------------------


class JobSlotsApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="Free appointment starts for an awarded job (its customer or the tradesperson doing it)",
        description="Starts on a half-hour grid where a worker of the awarded business can do a job of `duration` minutes: "
        "inside working hours, outside time off, clear of other appointments and their travel buffers, and after the end of "
        "every job this one waits for (`earliest_start`, `waiting_for`; while such a job has no appointment there are no "
        "slots and `note` says to book it first). "
        "`from` (default: the start of the customer's preferred window, or now if that has passed; then only times that "
        "end inside that window, or, when none fit, the days after it with `outside_preferred_window` and a `note`) "
        "must carry an offset; `days` (default 7) is how far to look. For a scheduled job the "
        "booked appointment's own time counts as free (for rescheduling). 409 job_not_awarded before the award.",
        parameters=[SlotQuerySerializer],
        responses={200: SlotsOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        query = valid(SlotQuerySerializer, request.query_params)
        viewer = request_user(request)
        _check_party(job, viewer)
        tradesperson_id = job.tradesperson_id
        if tradesperson_id is None or job.status not in (Job.Status.AWARDED, Job.Status.SCHEDULED):
            raise ServiceError(
                "Slots are offered once the job is awarded, until work starts.", code="job_not_awarded", kind=Refusal.CONFLICT
            )
        workers = selectors.workers_of(owner_id=tradesperson_id)
        if query["worker"] is not None:
            workers = [w for w in workers if w.pk == query["worker"]]
            if not workers:
                raise exceptions.ValidationError({"worker": ["Not a worker of the business doing this job."]})
        now = timezone.now()
        zone = _zone(request)
        # A job that waits for another (scheduling.services.dependencies) starts after it ends, and
        # cannot be booked at all while that one has no appointment: then no times, only why.
        wait = selectors.prerequisite_wait(job_id=job.pk)
        if wait is not None and wait.ends_at is None:
            return Response(SlotsOutputSerializer(_waiting_body(job, query, zone, now, wait)).data)
        earliest = wait.ends_at if wait is not None else None
        # Without ``from``, the first page starts at the customer's preferred window (not before now)
        # and offers only times inside it; when none fits there, the days after it, saying so.
        preferred_start, preferred_end = job.window_start, job.window_end
        window_start = max(query["from"] or preferred_start or now, now, earliest or now)
        window_end = window_start + timedelta(days=query["days"])
        duration = timedelta(minutes=query["duration"])
        booked = selectors.booked_appointment(job_id=job.pk)

        def free(start: datetime, end: datetime) -> list[tuple[datetime, Worker]]:
            found: list[tuple[datetime, Worker]] = []
            for worker in workers:
                availability = selectors.worker_availability(worker=worker, start=start, end=end)
                starts = slots.free_slots(
                    availability,
                    duration=duration,
                    window_start=start,
                    window_end=end,
                    now=now,
                    limit=SLOTS_PER_WORKER,
                    ignore=booked.pk if booked is not None and booked.worker_id == worker.pk else None,
                )
                found.extend((start, worker) for start in starts)
            return sorted(found, key=lambda pair: (pair[0], pair[1].pk))

        if query["from"] is None and preferred_end is not None and window_start < preferred_end:
            inside_end = min(window_end, preferred_end)
            found = [(start, worker) for start, worker in free(window_start, inside_end) if start + duration <= preferred_end]
            if found:
                window_end = inside_end
            else:
                found = free(window_start, window_end)
        else:
            found = free(window_start, window_end)
        outside = preferred_end is not None and any(start + duration > preferred_end for start, _ in found)
        note = ""
        if outside and preferred_end is not None:
            until = local_label(preferred_end, zone)
            note = (
                f"The customer's preferred window (until {until}) has passed; these are the next free times."
                if preferred_end <= now
                else f"No free time fits the customer's preferred window (until {until}); these times are after it."
            )
        if wait is not None and wait.ends_at is not None:
            after = f"“{wait.prerequisite.title}” ends {local_label(wait.ends_at, zone)}; this job can only start after that."
            note = f"{after} {note}" if note else after
        body = {
            "job": job.pk,
            "duration_minutes": query["duration"],
            "time_zone": zone,
            "earliest_start": utc_iso(earliest) if earliest else None,
            "waiting_for": _waiting_for(wait),
            "window_start": utc_iso(window_start),
            "window_end": utc_iso(window_end),
            "preferred_start": utc_iso(preferred_start) if preferred_start else None,
            "preferred_end": utc_iso(preferred_end) if preferred_end else None,
            "outside_preferred_window": outside,
            "note": note,
            "slots": [
                {
                    "worker": worker.pk,
                    "worker_name": worker.name,
                    "starts_at": utc_iso(start),
                    "ends_at": utc_iso(start + duration),
                    "starts_at_local": local_iso(start, zone),
                    "starts_label": local_label(start, zone),
                }
                for start, worker in found
            ],
        }
        return Response(SlotsOutputSerializer(body).data)


def _waiting_for(wait: selectors.PrerequisiteWait | None) -> dict[str, Any] | None:
    if wait is None:
        return None
    return {"job": wait.prerequisite.pk, "title": wait.prerequisite.title, "scheduled": wait.ends_at is not None}


def _waiting_body(job: Job, query: dict[str, Any], zone: str, now: datetime, wait: selectors.PrerequisiteWait) -> dict[str, Any]:
    """The slots answer while a prerequisite has no appointment: no times, and a sentence saying which job comes first."""
    start = max(query["from"] or now, now)
    return {
        "job": job.pk,
        "duration_minutes": query["duration"],
        "time_zone": zone,
        "earliest_start": None,
        "waiting_for": _waiting_for(wait),
        "window_start": utc_iso(start),
        "window_end": utc_iso(start + timedelta(days=query["days"])),
        "preferred_start": utc_iso(job.window_start) if job.window_start else None,
        "preferred_end": utc_iso(job.window_end) if job.window_end else None,
        "outside_preferred_window": False,
        "note": f"Can be booked once “{wait.prerequisite.title}” is scheduled: this job has to come after it.",
        "slots": [],
    }


# --- a job's appointment ----------------------------------------------------------------------


class JobAppointmentApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="The job's booked appointment (its customer, the tradesperson doing it, staff)",
        responses={200: AppointmentOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        _check_party(job, request_user(request), staff=True)
        return _appointment_response(request, _booked_or_404(job))

    @extend_schema(
        tags=["scheduling"],
        summary="Book the awarded job with a worker (its customer or the tradesperson doing it)",
        description="The job becomes scheduled. 400: naive_time, in_the_past, nonexistent_time (a local time skipped by "
        "the clocks going forward), wrong_worker. 409: slot_taken, outside_working_hours, time_off (with "
        "`error.suggestions`), job_not_awarded, already_scheduled.",
        request=AppointmentBookInputSerializer,
        responses={201: AppointmentOutputSerializer, **errors(400, 403, 404), 409: SLOT_TAKEN_409},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(AppointmentBookInputSerializer, request.data)
        worker = _worker_or_400(data["worker"])
        appointment = services.appointment_book(
            job=job, worker=worker, starts_at=data["starts_at"], duration_minutes=data["duration_minutes"], actor=request_user(request)
        )
        return _appointment_response(request, appointment, status.HTTP_201_CREATED)

    @extend_schema(
        tags=["scheduling"],
        summary="Reschedule the job's appointment (its customer or the tradesperson doing it)",
        description="A new start, optionally a new duration (default: unchanged) or another worker of the same business. "
        "The appointment's own current time does not count as taken. Same refusals as booking.",
        request=AppointmentRescheduleInputSerializer,
        responses={200: AppointmentOutputSerializer, **errors(400, 403, 404), 409: SLOT_TAKEN_409},
    )
    def patch(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(AppointmentRescheduleInputSerializer, request.data)
        worker = _worker_or_400(data["worker"]) if data["worker"] is not None else None
        appointment = services.appointment_reschedule(
            appointment=_booked_or_404(job),
            starts_at=data["starts_at"],
            duration_minutes=data["duration_minutes"],
            worker=worker,
            actor=request_user(request),
        )
        return _appointment_response(request, appointment)


class JobAppointmentCancelApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="Cancel the job's appointment (its customer or the tradesperson doing it)",
        description="The job goes back to awarded and can be booked again. No money moves (cancelling the job does that).",
        request=AppointmentCancelInputSerializer,
        responses={200: AppointmentOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(AppointmentCancelInputSerializer, request.data)
        appointment = services.appointment_cancel(appointment=_booked_or_404(job), actor=request_user(request), reason=data["reason"])
        return _appointment_response(request, appointment)


class JobAppointmentConfirmApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="Confirm the appointment time (the job's customer, e.g. from a reminder)",
        description="Idempotent: confirming again returns the same confirmation. A reschedule clears it. "
        "409 not_booked / appointment_over.",
        request=None,
        responses={200: AppointmentOutputSerializer, **errors(403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        appointment = services.appointment_confirm(appointment=_booked_or_404(job), actor=request_user(request))
        return _appointment_response(request, appointment)


# --- proposals ------------------------------------------------------------------------------------


def proposal_body(proposal: SlotProposal, zone: str) -> dict[str, Any]:
    owner = proposal.worker.owner
    business = getattr(getattr(owner, "pro_profile", None), "business_name", "") or owner.display_name or owner.username
    return {
        "id": proposal.pk,
        "job": proposal.job_id,
        "worker": proposal.worker_id,
        "worker_name": proposal.worker.name,
        "business_name": business,
        "duration_minutes": proposal.duration_minutes,
        "message": proposal.message,
        "status": proposal.status,
        "starts": [
            {"starts_at": utc_iso(start), "starts_at_local": local_iso(start, zone), "starts_label": local_label(start, zone)}
            for start in proposal.starts
        ],
        "time_zone": zone,
        "created_at": utc_iso(proposal.created_at),
    }


class JobProposalsApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="The open proposal of times for an awarded job (its customer or the tradesperson doing it)",
        responses={200: ProposalOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        _check_party(job, request_user(request), staff=True)
        proposal = selectors.open_proposal(job_id=job.pk)
        body = {"proposal": proposal_body(proposal, _zone(request)) if proposal is not None else None}
        return Response(ProposalOutputSerializer(body).data)

    @extend_schema(
        tags=["scheduling"],
        summary="Propose 1-5 times for an awarded job (the tradesperson doing it); replaces an earlier open proposal",
        description="Each time must be free now for the worker (same checks as booking; the first that is not is refused "
        "with its position in the message and `error.suggestions`). The customer is notified and books one.",
        request=ProposalInputSerializer,
        responses={201: ProposalOutputSerializer, **errors(400, 403, 404), 409: SLOT_TAKEN_409},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(ProposalInputSerializer, request.data)
        proposal = services.proposal_create(
            job=job,
            worker=_worker_or_400(data["worker"]),
            starts=data["starts"],
            duration_minutes=data["duration_minutes"],
            message=data["message"],
            actor=request_user(request),
        )
        proposal = SlotProposal.objects.select_related("worker__owner__pro_profile").get(pk=proposal.pk)
        body = {"proposal": proposal_body(proposal, _zone(request))}
        return Response(ProposalOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class JobProposalAcceptApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="Book one of the proposed times (the job's customer)",
        description="400 not_proposed (not one of the offered starts); 409 proposal_closed, or the time was taken meanwhile "
        "(with `error.suggestions`).",
        request=ProposalAcceptInputSerializer,
        responses={201: AppointmentOutputSerializer, **errors(400, 403, 404), 409: SLOT_TAKEN_409},
    )
    def post(self, request: Request, job_id: int, proposal_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(ProposalAcceptInputSerializer, request.data)
        proposal = SlotProposal.objects.filter(pk=proposal_id, job=job).first()
        if proposal is None:
            raise exceptions.NotFound("No such proposal for this job.")
        appointment = services.proposal_accept(proposal=proposal, start=data["start"], actor=request_user(request))
        return _appointment_response(request, appointment, status.HTTP_201_CREATED)


# --- dependencies ---------------------------------------------------------------------------------


def _linked_body(linked: selectors.LinkedJob, zone: str) -> dict[str, Any]:
    return {
        "job": linked.job.pk,
        "title": linked.job.title,
        "status": linked.job.status,
        "starts_at": utc_iso(linked.starts_at) if linked.starts_at else None,
        "ends_at": utc_iso(linked.ends_at) if linked.ends_at else None,
        "starts_label": local_label(linked.starts_at, zone) if linked.starts_at else "",
    }


def _dependencies_response(request: Request, job: Job, status_code: int = status.HTTP_200_OK) -> Response:
    zone = _zone(request)
    links = selectors.job_links(job_id=job.pk)
    body = {
        "job": job.pk,
        "time_zone": zone,
        "prerequisites": [_linked_body(item, zone) for item in links.prerequisites],
        "dependents": [_linked_body(item, zone) for item in links.dependents],
    }
    return Response(DependenciesOutputSerializer(body).data, status=status_code)


class JobDependenciesApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="The jobs this job must come after, and those that must come after it (its customer, the tradesperson, staff)",
        responses={200: DependenciesOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        _check_party(job, request_user(request), staff=True)
        return _dependencies_response(request, job)

    @extend_schema(
        tags=["scheduling"],
        summary="Make this job wait for another of the customer's jobs (the job's customer)",
        description="Its slots then start after the prerequisite's appointment ends; while the prerequisite has no "
        "appointment this job cannot be booked. Adding an existing link changes nothing (200). 400: no such job "
        "(`prerequisite`), dependency_self, prerequisite_closed, job_closed. 409: dependency_cycle (the message names the "
        "loop by job titles), dependency_violation (both booked in the wrong order: reschedule one first).",
        request=DependencyInputSerializer,
        responses={201: DependenciesOutputSerializer, 200: DependenciesOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(DependencyInputSerializer, request.data)
        viewer = request_user(request)
        prerequisite = job_selectors.job_for_viewer(user=viewer, job_id=data["prerequisite"])
        if prerequisite is None:
            raise exceptions.ValidationError({"prerequisite": ["No such job, or not one of yours."]})
        existed = prerequisite.pk in selectors.prerequisite_ids(job_id=job.pk)
        services.dependency_add(job=job, depends_on=prerequisite, actor=viewer)
        return _dependencies_response(request, job, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class JobDependencyApi(SchedulingApiView):
    @extend_schema(
        tags=["scheduling"],
        summary="Stop this job waiting for another (the job's customer)",
        description="A flag the link caused on this job's appointment clears. 404 when the job does not wait for that one.",
        request=None,
        responses={200: DependenciesOutputSerializer, **errors(403, 404)},
    )
    def delete(self, request: Request, job_id: int, prerequisite_id: int) -> Response:
        job = job_or_404(request, job_id)
        prerequisite = Job.objects.filter(pk=prerequisite_id).first()
        if prerequisite is None:
            raise exceptions.NotFound("This job does not wait for that one.")
        services.dependency_remove(job=job, depends_on=prerequisite, actor=request_user(request))
        return _dependencies_response(request, job)


# --- workers ----------------------------------------------------------------------------------


def _worker_response(worker: Worker) -> Response:
    return Response(WorkerOutputSerializer(_workers_with_details(owner_id=worker.owner_id, pk=worker.pk)[0], context=_now()).data)


def _now() -> dict[str, Any]:
    return {"now": timezone.now()}


def _workers_with_details(*, owner_id: int, pk: int | None = None) -> list[Worker]:
    workers = Worker.objects.filter(owner_id=owner_id).prefetch_related("hours", "time_off")
    if pk is not None:
        workers = workers.filter(pk=pk)
    return list(workers)


class WorkerListApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["scheduling"],
        summary="Your business's workers with their weekly hours, travel buffer and time off (tradespeople)",
        description="The owner is a worker too (created on first use with Monday-Friday 08:00-18:00 in the owner's zone).",
        responses={200: WorkerOutputSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request) -> Response:
        viewer = request_user(request)
        services.worker_for_owner(owner=viewer)
        workers = _workers_with_details(owner_id=viewer.pk)
        return Response(WorkerOutputSerializer(workers, many=True, context=_now()).data)


class WorkerHoursApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["scheduling"],
        summary="Replace a worker's weekly hours (the business owner)",
        description="Wall-clock times in the worker's zone; several stretches per day are allowed if they do not overlap "
        "(400 `hours_overlap`; touching, as 08:00-12:00 and 12:00-17:00, is fine). Booked appointments stay.",
        request=HoursInputSerializer,
        responses={200: WorkerOutputSerializer, **errors(400, 403, 404)},
    )
    def put(self, request: Request, worker_id: int) -> Response:
        worker = _own_worker_or_404(request, worker_id)
        data = valid(HoursInputSerializer, request.data)
        hours = [(row["weekday"], row["start"], row["end"]) for row in data["hours"]]
        services.worker_set_hours(worker=worker, actor=request_user(request), hours=hours)
        return _worker_response(worker)


class WorkerTimeOffApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["scheduling"],
        summary="Add time off for a worker (the business owner)",
        description="Blocks [starts_at, ends_at) for new bookings; booked appointments stay (reschedule them if needed).",
        request=TimeOffInputSerializer,
        responses={201: TimeOffOutputSerializer, **errors(400, 403, 404)},
    )
    def post(self, request: Request, worker_id: int) -> Response:
        worker = _own_worker_or_404(request, worker_id)
        data = valid(TimeOffInputSerializer, request.data)
        time_off = services.time_off_add(
            worker=worker, actor=request_user(request), starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"]
        )
        return Response(TimeOffOutputSerializer(time_off).data, status=status.HTTP_201_CREATED)


class WorkerTimeOffItemApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["scheduling"],
        summary="Remove a worker's time off (the business owner)",
        description="Its time can be booked again at once. 404 when there is no such time off (already removed).",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, worker_id: int, time_off_id: int) -> Response:
        worker = _own_worker_or_404(request, worker_id)
        services.time_off_remove(worker=worker, actor=request_user(request), time_off_id=time_off_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkerCalendarFeedApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["scheduling"],
        summary="Make a new secret calendar feed URL for a worker (the business owner); the old one stops working",
        description="The answer's `url` is an iCalendar feed of the worker's appointments (trade and postcode district only, "
        "UTC, cancelled ones as STATUS:CANCELLED) that calendar apps can subscribe to without signing in. "
        "It is shown only in this answer: only a hash of its secret is kept.",
        request=None,
        responses={201: CalendarFeedOutputSerializer, **errors(403, 404)},
    )
    def post(self, request: Request, worker_id: int) -> Response:
        worker = _own_worker_or_404(request, worker_id)
        token = services.calendar_feed_rotate(worker=worker, actor=request_user(request))
        url = request.build_absolute_uri(reverse("calendar-feed", args=[token]))
        return Response(CalendarFeedOutputSerializer({"url": url}).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["scheduling"],
        summary="Turn a worker's calendar feed off (the business owner); its URL answers 404 from now on",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, worker_id: int) -> Response:
        worker = _own_worker_or_404(request, worker_id)
        services.calendar_feed_revoke(worker=worker, actor=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- calendar ---------------------------------------------------------------------------------


class RunsABoard(BasePermission):
    """The business's owner or one of its dispatchers (``scheduling.team.dispatch_business``): who may change its board."""

    message = "This is for the business's owner and dispatchers."
    code = "not_a_dispatcher"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return dispatch_business(request.user) is not None


class RunsABoardOrStaff(BasePermission):
    """The business's owner or one of its dispatchers (``scheduling.team.dispatch_business``), or staff."""

    message = "This is for the business's owner and dispatchers."
    code = "not_a_dispatcher"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(isinstance(user, User) and user.is_authenticated and (user.is_staff or dispatch_business(user) is not None))


class CalendarApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, RunsABoardOrStaff]

    @extend_schema(
        tags=["scheduling"],
        summary="Booked appointments in a time range (the owner and dispatchers: their business's; staff: everyone's)",
        description=f"`from` (default now) and `to` (default a week later) carry offsets; at most {MAX_CALENDAR_DAYS} days. "
        "An appointment is listed when it overlaps the range.",
        parameters=[CalendarQuerySerializer],
        responses={200: CalendarOutputSerializer, **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        viewer = request_user(request)
        query = valid(CalendarQuerySerializer, request.query_params)
        window_start: datetime = query["from"] or timezone.now()
        window_end: datetime = query["to"] or window_start + timedelta(days=7)
        if window_end <= window_start:
            raise exceptions.ValidationError({"to": ["Must be after from."]})
        if window_end - window_start > timedelta(days=MAX_CALENDAR_DAYS):
            raise exceptions.ValidationError({"to": [f"At most {MAX_CALENDAR_DAYS} days after from."]})
        appointments = Appointment.objects.filter(
            status=Appointment.Status.BOOKED, starts_at__lt=window_end, ends_at__gt=window_start
        ).select_related("job", "worker")
        if not viewer.is_staff:  # RunsABoardOrStaff: everyone else runs a business's board
            appointments = appointments.filter(worker__owner=dispatch_business(viewer))
        zone = _zone(request)
        body = {
            "window_start": utc_iso(window_start),
            "window_end": utc_iso(window_end),
            "time_zone": zone,
            "appointments": [appointment_body(a, zone) for a in appointments.order_by("starts_at", "worker_id")],
        }
        return Response(CalendarOutputSerializer(body).data)


# --- dispatch board ---------------------------------------------------------------------------


class DispatchApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, RunsABoardOrStaff]

    @extend_schema(
        tags=["scheduling"],
        summary="The business's dispatch board: workers x days with appointments, flags and remaining capacity",
        description="Days are the business owner's local days from `from` (YYYY-MM-DD, default this week's Monday), "
        f"`days` 1-{dispatch.MAX_BOARD_DAYS} (default 7), optionally one `worker`. Appointments carry flags "
        "(dependency conflicts, too little travel time from the previous job, outside hours, time off); `free_minutes` is the "
        "remaining capacity. The owner and its dispatchers see their business; staff pass `owner` (a tradesperson's user id).",
        parameters=[DispatchQuerySerializer],
        responses={200: OpenApiResponse(description="The board (see scheduling.dispatch.board_json)."), **errors(400, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        viewer = request_user(request)
        query = valid(DispatchQuerySerializer, request.query_params)
        owner = dispatch_business(viewer)
        if owner is None:  # staff with no business of their own (RunsABoardOrStaff let no one else in)
            if query["owner"] is None:
                raise exceptions.ValidationError({"owner": ["Staff choose whose board to see (a tradesperson's user id)."]})
            found = User.objects.filter(pk=query["owner"]).first()
            if found is None:
                raise exceptions.NotFound("No such tradesperson.")
            owner = found
        start_day = query["from"] or dispatch.week_start(timezone.now().astimezone(ZoneInfo(owner.time_zone)).date())
        board = dispatch.dispatch_board(owner=owner, start_day=start_day, days=query["days"], worker_id=query["worker"])
        body = dispatch.board_json(board)
        body["unassigned"] = dispatch.queue_json(dispatch.unassigned_queue(owner=owner))
        body["emergency_reserve_minutes"] = selectors.emergency_reserve_minutes(owner_id=owner.pk)
        return Response(body)


# --- a worker's route for a day ---------------------------------------------------------------


class WorkerRouteApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["scheduling"],
        summary="A worker's route for one day: stops in time order with travel, and the order that cuts travel",
        description="`date` (YYYY-MM-DD, default today) is a local day in the business owner's zone. Each stop carries "
        "`travel_minutes` from the previous one (road distance at an urban speed, see settings.ROUTE) and a `warning` when "
        "the gap before it is shorter than the drive. `suggested_order` (empty when the booked order is already shortest) "
        "keeps customer-confirmed times; `saves_minutes` is the travel it saves. For the business owner and the worker.",
        parameters=[RouteQuerySerializer],
        responses={200: OpenApiResponse(description="The route (see scheduling.presenters.route_json)."), **errors(400, 403, 404)},
    )
    def get(self, request: Request, worker_id: int) -> Response:
        viewer = request_user(request)
        worker = Worker.objects.filter(pk=worker_id).select_related("owner").first()
        business = dispatch_business(viewer)
        if worker is None or (viewer.pk != worker.user_id and (business is None or business.pk != worker.owner_id)):
            raise exceptions.NotFound("No such worker in your business.")
        query = valid(RouteQuerySerializer, request.query_params)
        zone = worker.owner.time_zone
        day = query["date"] or timezone.now().astimezone(ZoneInfo(zone)).date()
        routes = selectors.day_routes(owner_id=worker.owner_id, day=day, zone=zone, worker_id=worker.pk)
        panel = presenters.route_panel(routes.get(worker.pk), worker_id=worker.pk, worker_name=worker.name, day=day, zone=zone)
        return Response(presenters.route_json(panel))


# --- my appointments (any worker with a login) -------------------------------------------------


class MyAppointmentsApi(SchedulingApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["scheduling"],
        summary="Your own appointments, from the start of today (your zone) for MY_DAY_AHEAD_DAYS days",
        description="For anyone who works for a business (a technician, a dispatcher, or the owner as a worker): "
        "the booked appointments of their own worker. Customers and staff without a business get 403 `not_a_team_member`.",
        responses={200: MyAppointmentsOutputSerializer, **errors(403)},
    )
    def get(self, request: Request) -> Response:
        viewer = request_user(request)
        member = membership(viewer)
        if member is None:
            raise ServiceError("This is for people who work for a business.", code="not_a_team_member", kind=Refusal.FORBIDDEN)
        zone = _zone(request)
        start, end = selectors.my_day_window(zone=zone)
        found = selectors.worker_appointments(worker=member.worker, start=start, end=end) if member.worker else []
        body = {
            "window_start": utc_iso(start),
            "window_end": utc_iso(end),
            "time_zone": zone,
            "appointments": [appointment_body(a, zone) for a in found],
        }
        return Response(MyAppointmentsOutputSerializer(body).data)


def _board_worker(business: User, worker_id: int) -> Worker:
    worker = Worker.objects.filter(pk=worker_id, owner=business).first()
    if worker is None:
        raise exceptions.ValidationError({"worker": ["No such worker in your business."]})
    return worker


def _placed_start(business: User, worker: Worker, data: dict[str, Any], *, duration: timedelta, keep: datetime | None = None) -> datetime:
    """The start the dispatcher asked for: ``start`` as given, or ``day`` at ``time`` in the business's zone (without a time:
    ``keep``'s local time of day, else the worker's first free start that day)."""
    if data["start"] is not None:
        start: datetime = data["start"]
        return start
    zone = ZoneInfo(business.time_zone)
    day: date = data["day"]
    at: time | None = data["time"] or (keep.astimezone(zone).time() if keep is not None else None)
    if at is not None:
        return datetime.combine(day, at, tzinfo=zone)
    found = selectors.first_free_start_on(worker=worker, day=day, zone=business.time_zone, duration=duration)
    if found is None:
        raise ServiceError(
            f"{worker.name} has no free time that day for a {round(duration.total_seconds() / 3600, 1):g}-hour job; "
            "pick another day or worker.",
            code=slots.Problem.OVERLAP,
            kind=Refusal.CONFLICT,
        )
    return found


DISPATCH_409 = OpenApiResponse(
    ErrorSerializer,
    description='Not possible then: slot_taken (the message names the job in the way, e.g. "Sam already has a job '
    '10:00–12:00 then (Leaking tap)."), outside_working_hours, time_off, dependency_violation, not_booked, job_not_awarded, '
    "worker_inactive; a refused time carries `error.suggestions`.",
)


class DispatchMoveApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, RunsABoard]

    @extend_schema(
        tags=["scheduling"],
        summary="Move an appointment on the dispatch board to another worker and/or time",
        description="`worker` plus either `start` (with an offset) or `day` (and optionally `time`) in the business's zone; "
        "without a time the appointment keeps its local start. The database's exclusion constraint decides clashes; the "
        "emergency reserve does not bind the dispatcher. Every open board updates live.",
        request=DispatchPlaceInputSerializer,
        responses={200: AppointmentOutputSerializer, **errors(400, 403, 404), 409: DISPATCH_409},
    )
    def post(self, request: Request, appointment_id: int) -> Response:
        by = request_user(request)
        business = services.board_business(by)
        appointment = Appointment.objects.filter(pk=appointment_id, worker__owner=business).first()
        if appointment is None:
            raise exceptions.NotFound("That appointment is not on your board.")
        data = valid(DispatchPlaceInputSerializer, request.data)
        worker = _board_worker(business, data["worker"])
        start = _placed_start(business, worker, data, duration=appointment.ends_at - appointment.starts_at, keep=appointment.starts_at)
        moved = services.appointment_reassign(by=by, appointment=appointment, worker=worker, start=start)
        return _appointment_response(request, moved)


class DispatchBookApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, RunsABoard]

    @extend_schema(
        tags=["scheduling"],
        summary="Book a job from the dispatch board's unassigned queue with a worker",
        description="As moving, for an awarded job without an appointment; without a time it takes the worker's first free "
        "start that day. `duration_minutes` defaults to the DISPATCH_DEFAULT_JOB_MINUTES setting.",
        request=DispatchBookInputSerializer,
        responses={201: AppointmentOutputSerializer, **errors(400, 403, 404), 409: DISPATCH_409},
    )
    def post(self, request: Request, job_id: int) -> Response:
        by = request_user(request)
        business = services.board_business(by)
        job = Job.objects.filter(pk=job_id, tradesperson=business).first()
        if job is None:
            raise exceptions.NotFound("That job is not in your queue.")
        data = valid(DispatchBookInputSerializer, request.data)
        worker = _board_worker(business, data["worker"])
        minutes = data["duration_minutes"] or settings.DISPATCH_DEFAULT_JOB_MINUTES
        start = _placed_start(business, worker, data, duration=timedelta(minutes=minutes))
        appointment = services.job_dispatch(by=by, job=job, worker=worker, start=start, duration_minutes=minutes)
        return _appointment_response(request, appointment, status.HTTP_201_CREATED)


class EmergencyReserveApi(SchedulingApiView):
    permission_classes = [IsAuthenticated, RunsABoard]

    @extend_schema(
        tags=["scheduling"],
        summary="Keep some hours of each worker's day free for emergencies",
        description="Normal bookings (and the free slots offered for them) leave this much of each working day free; "
        "the dispatch board may use it. 0 turns it off.",
        request=EmergencyReserveInputSerializer,
        responses={200: OpenApiResponse(description='{"emergency_reserve_minutes": int}'), **errors(400, 403)},
    )
    def put(self, request: Request) -> Response:
        data = valid(EmergencyReserveInputSerializer, request.data)
        reserve = services.emergency_reserve_set(by=request_user(request), minutes=int(data["hours"] * 60))
        return Response({"emergency_reserve_minutes": reserve.minutes})
