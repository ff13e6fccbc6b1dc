"""Job API: thin views that validate input, call one service and render output."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.models import User

from . import selectors, services
from .serializers import BoardEntrySerializer, JobInputSerializer, JobOutputSerializer


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class JobListCreateApi(APIView):
    @extend_schema(responses=JobOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        jobs = selectors.jobs_for_customer(customer=_user(request))
        return Response(JobOutputSerializer(jobs[:200], many=True).data)

    @extend_schema(
        request=JobInputSerializer,
        responses={201: JobOutputSerializer, 200: JobOutputSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    def post(self, request: Request) -> Response:
        serializer = JobInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "")[:64]
        job, created = services.job_post(customer=_user(request), idempotency_key=key, **serializer.validated_data)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        job = get_object_or_404(selectors.jobs_for_customer(customer=_user(request)), pk=job_id)
        return Response(JobOutputSerializer(job).data)


class JobCancelApi(APIView):
    @extend_schema(request=None, responses=JobOutputSerializer)
    def post(self, request: Request, job_id: int) -> Response:
        job = get_object_or_404(selectors.jobs_for_customer(customer=_user(request)), pk=job_id)
        job = services.job_cancel(job=job, actor=_user(request), reason=str(request.data.get("reason", "")))
        return Response(JobOutputSerializer(job).data)


class BoardApi(generics.ListAPIView):
    serializer_class = BoardEntrySerializer

    def get_queryset(self) -> Any:
        user = _user(self.request)
        if not (user.is_tradesperson or user.is_staff):
            from rest_framework.exceptions import PermissionDenied

            raise PermissionDenied("The jobs board is for tradespeople.")
        return selectors.board_entries()
