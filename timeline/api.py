"""Timeline API: a job's history as the signed-in person may see it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.selectors import job_for_viewer
from marketplace.api import errors, request_user

from . import selectors


class TimelineEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job_id = serializers.IntegerField()
    sequence = serializers.IntegerField(help_text="Position in the job's history (entries are in this order).")
    event_type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    actor_role = serializers.ChoiceField(choices=["customer", "tradesperson", "system", "staff"])
    summary = serializers.CharField(help_text="What happened, for this reader, times in their zone.")


class TimelineOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    entries = TimelineEntrySerializer(many=True)


class JobTimelineApi(APIView):
    @extend_schema(
        tags=["timeline"],
        summary="The job's timeline as you may see it",
        description="The customer sees the whole history; a tradesperson sees job-level facts and their own lead, bid and quote "
        "(the awarded one also the appointment, visit and payments); never other bidders' bids.",
        responses={200: TimelineOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        user = request_user(request)
        job = job_for_viewer(user=user, job_id=job_id)
        if job is None:
            raise exceptions.NotFound("No such job, or not one you can see.")
        entries = selectors.timeline_for(job=job, user=user)
        return Response(TimelineOutputSerializer({"job": job.pk, "entries": entries}).data)
