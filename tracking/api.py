"""Tracking API: a job's visit (stages, position, ETA) and the batched GPS pings door.

- ``GET /api/jobs/<id>/visit/``: the visit as ``viewer`` may see it (``tracking.selectors.visit_body``:
  the customer sees position, trail and ETA only while the tradesperson is on the way).
- ``POST /api/jobs/<id>/visit/ {"action": ...}``: one step (``tracking.services.visit_act``).
- ``POST /api/tracking/pings/ {"job", "pings": [...]}``: 1-100 fixes -> 202 ``{"accepted", "rejected"}``
  (``tracking.services.pings_accept``); 429 ``rate_limited`` with Retry-After.

As elsewhere: a job you may not see is 404, an action you may not take on one you can see is 403,
"not now" is 409.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.models import Job
from marketplace.api import ErrorSerializer, errors, request_user, valid
from marketplace.errors import Refusal, ServiceError
from scheduling.models import Appointment

from . import selectors, services
from .serializers import PingsInputSerializer, PingsOutputSerializer, VisitActionInputSerializer, VisitOutputSerializer


def _job_or_404(request: Request, job_id: int) -> tuple[Job, Appointment | None]:
    found = selectors.job_for_tracking(user=request_user(request), job_id=job_id)
    if found is None:
        raise exceptions.NotFound("No such job, or not one you can see.")
    return found


def _visit_response(request: Request, job_id: int) -> Response:
    job, appointment = _job_or_404(request, job_id)
    viewer = request_user(request)
    if selectors.party_of(viewer, job, appointment) is None:
        raise ServiceError(
            "Only the job's customer or the tradesperson doing it can follow the visit.", code="forbidden", kind=Refusal.FORBIDDEN
        )
    body = selectors.visit_body(job=job, appointment=appointment, viewer=viewer)
    return Response(VisitOutputSerializer(body).data)


class VisitApi(APIView):
    @extend_schema(
        tags=["tracking"],
        summary="A job's visit: stage, timeline, the tradesperson's position and ETA (its customer or the tradesperson)",
        description="`position`, `trail` and `eta` are shown to the customer only while the visit is `on_the_way`; the "
        "tradesperson and their booked worker always see them. `actions` lists the steps the viewer may take now.",
        responses={200: VisitOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        return _visit_response(request, job_id)

    @extend_schema(
        tags=["tracking"],
        summary="Take the next step of the visit (the tradesperson doing the job or their booked worker)",
        description="Steps go scheduled -> on_the_way -> arrived -> working (`start`, the job becomes in progress) <-> paused "
        "(`pause`/`resume`) -> completed (`complete`, the job is completed and paid). Repeating the current step changes "
        "nothing. Each step is an event (visit.on_the_way, visit.arrived, visit.paused, visit.resumed, job.status_changed).",
        request=VisitActionInputSerializer,
        responses={
            200: VisitOutputSerializer,
            **errors(400, 403, 404),
            409: OpenApiResponse(
                ErrorSerializer,
                description="status_skip (out of order, e.g. arrived before on_the_way), not_scheduled (no booked appointment), "
                "not_started, job_not_active (cancelled or completed).",
            ),
        },
    )
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = _job_or_404(request, job_id)
        data = valid(VisitActionInputSerializer, request.data)
        services.visit_act(job=job, actor=request_user(request), action=data["action"])
        return _visit_response(request, job_id)


class PingsApi(APIView):
    @extend_schema(
        tags=["tracking"],
        summary="Send GPS positions of a job's visit (the tradesperson doing it or their booked worker)",
        description="1 to 100 fixes. Accepted only while the visit is on_the_way or arrived. Each fix is checked (lat -90..90, "
        "lng -180..180, finite numbers, accuracy_m 0..10000, recorded_at with an offset, at most 10 minutes old and 1 "
        "minute ahead); bad ones are listed in `rejected` by index, the others published. At most 120 fixes a minute "
        "per worker (429 rate_limited with Retry-After).",
        request=PingsInputSerializer,
        responses={
            202: PingsOutputSerializer,
            **errors(400, 403, 404),
            409: OpenApiResponse(ErrorSerializer, description="visit_not_active: not on the way or arrived (e.g. completed)."),
            429: OpenApiResponse(ErrorSerializer, description="rate_limited: too many fixes this minute; see Retry-After."),
            503: OpenApiResponse(
                ErrorSerializer,
                description="tracking_unavailable: the broker did not acknowledge; keep the fixes and send them again after Retry-After.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = valid(PingsInputSerializer, request.data)
        job, _ = _job_or_404(request, data["job"])
        result = services.pings_accept(job=job, actor=request_user(request), pings=data["pings"])
        body = {"accepted": result.accepted, "rejected": [r.as_dict() for r in result.rejected]}
        return Response(PingsOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
