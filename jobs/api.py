"""Jobs API: thin views that validate input, call one service or selector, and render output.

Who may see an object comes from the selectors (``job_for_viewer``, ``bids_for_job``,
``bid_for_viewer``, ``leads_for``): an object you may not see answers 404.  Whether
you may act on an object you can see is the service's decision (a 403 or 409
``ServiceError``).  Errors have one JSON shape (``marketplace.api_errors``).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import IsTradesperson, IsTradespersonOrStaff, errors, found, request_user, valid

from . import places, selectors, services
from .models import Job, Lead
from .serializers import (
    BoardEntrySerializer,
    BoardQuerySerializer,
    JobCancelInputSerializer,
    JobInputSerializer,
    JobOutputSerializer,
    JobUpdateInputSerializer,
    LeadOutputSerializer,
    MeOutputSerializer,
    PlaceOutputSerializer,
    PlaceQuerySerializer,
    ProProfileInputSerializer,
    ProProfileOutputSerializer,
    ProPublicOutputSerializer,
    TradeWithQuestionsSerializer,
)

IDEMPOTENCY_KEY_MAX = 64


def job_or_404(request: Request, job_id: int) -> Job:
    """The job, if the requester may see it; otherwise 404 (used by every app's API that works on a job)."""
    return found(selectors.job_for_viewer(user=request_user(request), job_id=job_id), "No such job, or not one you can see.")


def _job_response(request: Request, job: Job, status_code: int = status.HTTP_200_OK) -> Response:
    counts = selectors.bid_counts(job_ids=[job.pk]) if job.customer_id == request.user.pk else {}
    context = {"request": request, "bid_counts": counts}
    return Response(JobOutputSerializer(job, context=context).data, status=status_code)


# --- catalogue --------------------------------------------------------------------------


class TradeListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalogue"], summary="Trades and the questions a job of each asks", responses={200: TradeWithQuestionsSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response(TradeWithQuestionsSerializer(selectors.trades_all(), many=True).data)


class PlaceListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalogue"],
        summary="Places and postcode districts",
        parameters=[PlaceQuerySerializer],
        responses={200: PlaceOutputSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = valid(PlaceQuerySerializer, request.query_params)
        return Response(PlaceOutputSerializer(places.search(query["q"], limit=query["limit"]), many=True).data)


# --- profiles ---------------------------------------------------------------------------


class ProProfileApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(tags=["profiles"], summary="Your business profile", responses={200: ProProfileOutputSerializer, **errors(403, 404)})
    def get(self, request: Request) -> Response:
        profile = selectors.public_profile(user_id=request_user(request).pk, viewer=request_user(request))
        if profile is None:
            raise exceptions.NotFound("You have no business profile yet; create it with PUT /api/profile/.")
        return Response(ProProfileOutputSerializer(profile).data)

    @extend_schema(
        tags=["profiles"],
        summary="Create or replace your business profile",
        request=ProProfileInputSerializer,
        responses={200: ProProfileOutputSerializer, **errors(400, 403)},
    )
    def put(self, request: Request) -> Response:
        data = valid(ProProfileInputSerializer, request.data)
        profile = services.pro_profile_save(user=request_user(request), **data)
        return Response(ProProfileOutputSerializer(profile).data)


class ProPublicApi(APIView):
    @extend_schema(
        tags=["profiles"], summary="A tradesperson's public profile", responses={200: ProPublicOutputSerializer, **errors(403, 404)}
    )
    def get(self, request: Request, user_id: int) -> Response:
        profile = selectors.public_profile(user_id=user_id, viewer=request.user)
        if profile is None:
            raise exceptions.NotFound("No such tradesperson.")
        stats = selectors.pro_stats(user_id=user_id)
        return Response(ProPublicOutputSerializer(profile, context={"stats": stats}).data)


# --- jobs -------------------------------------------------------------------------------


class JobListCreateApi(GenericAPIView):
    @extend_schema(tags=["jobs"], summary="Your jobs (customers)", responses={200: JobOutputSerializer(many=True), **errors(403)})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        if not user.is_customer:
            raise exceptions.PermissionDenied(
                "Tradespeople have no jobs of their own: see your leads at /api/leads/ and open jobs at /api/board/.",
                code="not_a_customer",
            )
        page = self.paginate_queryset(selectors.jobs_for_customer(customer=user).prefetch_related("photos"))
        assert page is not None
        counts = selectors.bid_counts(job_ids=[job.pk for job in page])
        data = JobOutputSerializer(page, many=True, context={"request": request, "bid_counts": counts}).data
        return self.get_paginated_response(data)

    @extend_schema(
        tags=["jobs"],
        summary="Post a job",
        description="JSON, or multipart/form-data to attach `photos`. Repeat a request with the same "
        "`Idempotency-Key` and you get the first job back (200) instead of a second one.",
        request={"application/json": JobInputSerializer, "multipart/form-data": JobInputSerializer},
        responses={201: JobOutputSerializer, 200: JobOutputSerializer, **errors(400, 403, 429)},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=f"Any unique string up to {IDEMPOTENCY_KEY_MAX} characters, e.g. a UUID per submit.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise exceptions.ValidationError({"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX} characters."]})
        data = valid(JobInputSerializer, request.data)
        prefix = "answer_photo."  # a photo question's image: one file field per question
        photos = {name.removeprefix(prefix): upload for name, upload in request.FILES.items() if name.startswith(prefix)}
        job, created = services.job_post(customer=request_user(request), idempotency_key=key, answer_photos=photos, **data)
        if created:  # a job posted just now has no bids: no count query (bench/http.py, BENCHMARKS.md)
            context = {"request": request, "bid_counts": {job.pk: 0}}
            return Response(JobOutputSerializer(job, context=context).data, status=status.HTTP_201_CREATED)
        return _job_response(request, job, status.HTTP_200_OK)


class JobDetailApi(APIView):
    @extend_schema(tags=["jobs"], summary="A job", responses={200: JobOutputSerializer, **errors(403, 404)})
    def get(self, request: Request, job_id: int) -> Response:
        return _job_response(request, job_or_404(request, job_id))

    @extend_schema(
        tags=["jobs"],
        summary="Edit an open job (its customer)",
        request=JobUpdateInputSerializer,
        responses={200: JobOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def patch(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(JobUpdateInputSerializer, request.data, partial=True)
        return _job_response(request, services.job_update(job=job, actor=request_user(request), **data))


class JobCancelApi(APIView):
    @extend_schema(
        tags=["jobs"],
        summary="Cancel a job (its customer, or the tradesperson doing it)",
        description="Before work starts. After a quote was accepted, the cancellation policy decides what the deposit pays "
        "(free within minutes of accepting or when the tradesperson cancels; part of the deposit close to the appointment).",
        request=JobCancelInputSerializer,
        responses={200: JobOutputSerializer, **errors(400, 403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        data = valid(JobCancelInputSerializer, request.data)
        return _job_response(request, services.job_cancel(job=job, actor=request_user(request), reason=data["reason"]))


class JobStartApi(APIView):
    @extend_schema(
        tags=["jobs"],
        summary="Start work (the tradesperson doing the job)",
        request=None,
        responses={200: JobOutputSerializer, **errors(403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        return _job_response(request, services.job_start_work(job=job, actor=request_user(request)))


class JobCompleteApi(APIView):
    @extend_schema(
        tags=["jobs"],
        summary="Mark the work done (the tradesperson doing the job)",
        description="The price is then collected from the customer's card (deposit captured, balance charged) in the background; "
        "follow it at /api/jobs/{job_id}/payment/.",
        request=None,
        responses={200: JobOutputSerializer, **errors(403, 404, 409)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_or_404(request, job_id)
        return _job_response(request, services.job_complete(job=job, actor=request_user(request)))


# --- board ------------------------------------------------------------------------------


class BoardApi(GenericAPIView):
    permission_classes = [IsAuthenticated, IsTradespersonOrStaff]

    @extend_schema(
        tags=["board"],
        summary="Open jobs (tradespeople and staff)",
        description="Searched and filtered. Without lat/lon, distances are from your profile's base (if you have one); "
        "with a location, jobs are ordered nearest first (emergencies first) unless `q` ranks them.",
        parameters=[BoardQuerySerializer],
        responses={200: BoardEntrySerializer(many=True), **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        query = valid(BoardQuerySerializer, request.query_params)
        near: tuple[float, float] | None = None
        if "lat" in query:
            near = (query["lat"], query["lon"])
        else:
            profile = selectors.public_profile(user_id=request_user(request).pk, viewer=request_user(request))
            if profile is not None:
                near = (float(profile.base_latitude), float(profile.base_longitude))
        if near is None and query.get("max_km") is not None:
            raise exceptions.ValidationError({"max_km": ["Give lat and lon (or set your base in your profile) to filter by distance."]})
        filters = selectors.BoardFilters(
            query=query["q"],
            trade=query["trade"],
            near=near,
            max_km=query.get("max_km"),
            budget_min=query.get("budget_min"),
            budget_max=query.get("budget_max"),
            emergency_only=query["emergency"],
        )
        page = self.paginate_queryset(selectors.board(filters=filters))
        assert page is not None
        user = request_user(request)
        leads = selectors.lead_job_ids(tradesperson=user, job_ids=[entry.job_id for entry in page]) if user.is_tradesperson else set()
        return self.get_paginated_response(BoardEntrySerializer(page, many=True, context={"lead_job_ids": leads}).data)


# --- leads ------------------------------------------------------------------------------


class LeadListApi(GenericAPIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(tags=["leads"], summary="Your leads, newest first", responses={200: LeadOutputSerializer(many=True), **errors(403)})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        page = self.paginate_queryset(selectors.leads_for(tradesperson=user).order_by("-offered_at"))
        assert page is not None
        bids = selectors.bids_by_job(tradesperson=user, job_ids=[lead.job_id for lead in page])
        return self.get_paginated_response(LeadOutputSerializer(page, many=True, context={"bids": bids}).data)


class LeadSeenApi(APIView):
    permission_classes = [IsAuthenticated, IsTradesperson]

    @extend_schema(
        tags=["leads"],
        summary="Record that you opened a lead (first time only)",
        request=None,
        responses={200: LeadOutputSerializer, **errors(403, 404)},
    )
    def post(self, request: Request, lead_id: int) -> Response:
        user = request_user(request)
        lead: Lead | None = selectors.leads_for(tradesperson=user).filter(pk=lead_id).first()
        if lead is None:
            raise exceptions.NotFound("No such lead, or not yours.")
        lead = services.lead_mark_seen(lead=lead, actor=user)
        bids = selectors.bids_by_job(tradesperson=user, job_ids=[lead.job_id])
        return Response(LeadOutputSerializer(lead, context={"bids": bids}).data)


# --- who am I ---------------------------------------------------------------------------


class MeApi(APIView):
    @extend_schema(tags=["accounts"], summary="Who am I", responses={200: MeOutputSerializer, **errors(403)})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        profile = selectors.public_profile(user_id=user.pk, viewer=user) if user.is_tradesperson else None
        return Response(MeOutputSerializer(user, context={"profile": profile}).data)
