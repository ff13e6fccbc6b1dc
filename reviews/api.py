"""Reviews API.

- ``POST /api/jobs/<id>/review/``: the job's customer rates the tradesperson who did it (201).
- ``GET /api/pros/<id>/reviews/``: a tradesperson's rating summary and newest reviews (any signed-in user).
- ``POST /api/reviews/<id>/reply/``: the reviewed tradesperson replies once.
- ``POST /api/reports/``: anyone (signed in or not) reports a public review, reply or profile (201).

As elsewhere: an object you may not see is 404, an action you may not take on one you can see is
403, "not now / not again" is 409, a bad value is 400; errors have the one JSON shape.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors as job_selectors
from marketplace.api import ErrorSerializer, errors, request_user, valid

from . import moderation, selectors, services
from .models import Report, Target
from .serializers import ProReviewsOutputSerializer, ReplyInputSerializer, ReviewInputSerializer, ReviewOutputSerializer

LIST_LIMIT = 50


class JobReviewApi(APIView):
    @extend_schema(
        tags=["reviews"],
        summary="Review the tradesperson who did a completed job (the job's customer, once)",
        description="Overall `rating` and each of `aspects` (punctuality, quality, value, communication) are whole stars "
        "1-5; `comment` is optional (at most 2000 characters). Emits review.posted; the tradesperson's rating summary "
        "and public profile update live.",
        request=ReviewInputSerializer,
        responses={
            201: ReviewOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="validation_error, rating_out_of_range (stars not 1-5), too_long."),
            403: OpenApiResponse(ErrorSerializer, description="not_authenticated, or not_your_job (only the job's customer reviews)."),
            **errors(404),
            409: OpenApiResponse(ErrorSerializer, description="job_not_completed, already_reviewed (one review per job)."),
        },
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = job_selectors.job_for_viewer(user=request_user(request), job_id=job_id)
        if job is None:
            raise exceptions.NotFound("No such job, or not one you can see.")
        data = valid(ReviewInputSerializer, request.data)
        review = services.review_post(
            job=job, customer=request_user(request), rating=data["rating"], aspects=dict(data["aspects"]), comment=data["comment"]
        )
        return Response(ReviewOutputSerializer(review).data, status=status.HTTP_201_CREATED)


class ProReviewsApi(APIView):
    @extend_schema(
        tags=["reviews"],
        summary="A tradesperson's rating summary and newest reviews, with replies",
        description="`summary` is the rating read model (count, average, distribution 1-5, per-aspect averages) plus the "
        f"trend: the average of the last 30 days against the 30 days before. Up to {LIST_LIMIT} newest reviews. Hidden "
        "reviews are left out of both (the tradesperson and staff still see them in the list, marked hidden).",
        responses={200: ProReviewsOutputSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, user_id: int) -> Response:
        if job_selectors.public_profile(user_id=user_id, viewer=request.user) is None:
            raise exceptions.NotFound("No such tradesperson.")
        reviews = selectors.reviews_for_viewer(pro_id=user_id, viewer=request_user(request))[:LIST_LIMIT]
        body = {"summary": selectors.summary_body(user_id), "reviews": list(reviews)}
        return Response(ProReviewsOutputSerializer(body, context={"viewer": request_user(request)}).data)


class ReviewReplyApi(APIView):
    @extend_schema(
        tags=["reviews"],
        summary="Reply to a review of your work (the reviewed tradesperson, once)",
        description="Emits review.replied; the reply appears on the public profile live.",
        request=ReplyInputSerializer,
        responses={
            201: ReviewOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="validation_error, reply_required, too_long."),
            403: OpenApiResponse(ErrorSerializer, description="not_authenticated, or not_your_review."),
            **errors(404),
            409: OpenApiResponse(ErrorSerializer, description="already_replied (one reply per review)."),
        },
    )
    def post(self, request: Request, review_id: int) -> Response:
        review = selectors.review_for_viewer(viewer=request_user(request), review_id=review_id)
        if review is None:
            raise exceptions.NotFound("No such review, or not one you can see.")
        data = valid(ReplyInputSerializer, request.data)
        review = services.review_reply(review=review, actor=request_user(request), reply=data["reply"])
        return Response(ReviewOutputSerializer(review, context={"viewer": request_user(request)}).data, status=status.HTTP_201_CREATED)


class ReportInputSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=Target.choices, help_text="review, reply (a review's reply) or profile.")
    object_id = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The review id (review, reply) or the tradesperson's user id (profile)."
    )
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()


class ReportApi(APIView):
    permission_classes = [AllowAny]  # anyone reading a public page may report what is on it

    @extend_schema(
        tags=["reviews"],
        summary="Report a public review, review reply or profile to the moderators (anyone, signed in or not)",
        description="Rate limited per user (or per address when signed out). When enough people report one item "
        "it leaves public pages until staff decide (MODERATION_REPORT_THRESHOLD).",
        request=ReportInputSerializer,
        responses={
            201: ReportOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="validation_error, bad_reason, too_long."),
            404: OpenApiResponse(ErrorSerializer, description="not_found: not (or no longer) shown publicly."),
            429: OpenApiResponse(ErrorSerializer, description="rate_limited: too many reports; Retry-After says when to try again."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = valid(ReportInputSerializer, request.data)
        user = request.user if request.user.is_authenticated else None
        report = moderation.report_file(
            target=data["target"],
            object_id=data["object_id"],
            reason=data["reason"],
            text=data["text"],
            reporter=user,
            client_address=request.META.get("REMOTE_ADDR", ""),
        )
        message = "Thank you. Our moderators will look at it."
        return Response(ReportOutputSerializer({"id": report.pk, "message": message}).data, status=status.HTTP_201_CREATED)
