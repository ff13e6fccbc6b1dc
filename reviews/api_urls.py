"""Reviews API routes (see reviews/api.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("jobs/<int:job_id>/review/", api.JobReviewApi.as_view(), name="api-job-review"),
    path("pros/<int:user_id>/reviews/", api.ProReviewsApi.as_view(), name="api-pro-reviews"),
    path("reviews/<int:review_id>/reply/", api.ReviewReplyApi.as_view(), name="api-review-reply"),
    path("reports/", api.ReportApi.as_view(), name="api-reports"),
]
