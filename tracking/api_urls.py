"""Tracking API routes (see tracking/api.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("jobs/<int:job_id>/visit/", api.VisitApi.as_view(), name="api-job-visit"),
    path("tracking/pings/", api.PingsApi.as_view(), name="api-tracking-pings"),
]
