from django.urls import path

from . import api

urlpatterns = [
    path("jobs/<int:job_id>/timeline/", api.JobTimelineApi.as_view(), name="api-job-timeline"),
]
