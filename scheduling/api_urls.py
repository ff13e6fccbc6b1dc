"""Scheduling API routes (see scheduling/api.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("jobs/<int:job_id>/slots/", api.JobSlotsApi.as_view(), name="api-job-slots"),
    path("jobs/<int:job_id>/appointment/", api.JobAppointmentApi.as_view(), name="api-job-appointment"),
    path("jobs/<int:job_id>/appointment/cancel/", api.JobAppointmentCancelApi.as_view(), name="api-job-appointment-cancel"),
    path("jobs/<int:job_id>/appointment/confirm/", api.JobAppointmentConfirmApi.as_view(), name="api-job-appointment-confirm"),
    path("jobs/<int:job_id>/proposals/", api.JobProposalsApi.as_view(), name="api-job-proposals"),
    path("jobs/<int:job_id>/proposals/<int:proposal_id>/accept/", api.JobProposalAcceptApi.as_view(), name="api-job-proposal-accept"),
    path("jobs/<int:job_id>/dependencies/", api.JobDependenciesApi.as_view(), name="api-job-dependencies"),
    path("jobs/<int:job_id>/dependencies/<int:prerequisite_id>/", api.JobDependencyApi.as_view(), name="api-job-dependency"),
    path("workers/", api.WorkerListApi.as_view(), name="api-workers"),
    path("workers/<int:worker_id>/hours/", api.WorkerHoursApi.as_view(), name="api-worker-hours"),
    path("workers/<int:worker_id>/time-off/", api.WorkerTimeOffApi.as_view(), name="api-worker-time-off"),
    path("workers/<int:worker_id>/time-off/<int:time_off_id>/", api.WorkerTimeOffItemApi.as_view(), name="api-worker-time-off-item"),
    path("workers/<int:worker_id>/calendar-feed/", api.WorkerCalendarFeedApi.as_view(), name="api-worker-calendar-feed"),
    path("workers/<int:worker_id>/route/", api.WorkerRouteApi.as_view(), name="api-worker-route"),
    path("dispatch/", api.DispatchApi.as_view(), name="api-dispatch"),
    path("dispatch/appointments/<int:appointment_id>/move/", api.DispatchMoveApi.as_view(), name="api-dispatch-move"),
    path("dispatch/jobs/<int:job_id>/book/", api.DispatchBookApi.as_view(), name="api-dispatch-book"),
    path("dispatch/reserve/", api.EmergencyReserveApi.as_view(), name="api-dispatch-reserve"),
    path("calendar/", api.CalendarApi.as_view(), name="api-calendar"),
    path("me/appointments/", api.MyAppointmentsApi.as_view(), name="api-my-appointments"),
]
