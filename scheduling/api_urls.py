"""Scheduling API routes (see scheduling/api.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("jobs/<int:job_id>/slots/", api.JobSlotsApi.as_view(), name="api-job-slots"),
    path("jobs/<int:job_id>/appointment/", api.JobAppointmentApi.as_view(), name="api-job-appointment"),
    path("jobs/<int:job_id>/appointment/cancel/", api.JobAppointmentCancelApi.as_view(), name="api-job-appointment-cancel"),
    path("workers/", api.WorkerListApi.as_view(), name="api-workers"),
    path("workers/<int:worker_id>/hours/", api.WorkerHoursApi.as_view(), name="api-worker-hours"),
    path("workers/<int:worker_id>/time-off/", api.WorkerTimeOffApi.as_view(), name="api-worker-time-off"),
    path("calendar/", api.CalendarApi.as_view(), name="api-calendar"),
]
