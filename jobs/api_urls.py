from django.urls import path

from . import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("trades/", api.TradeListApi.as_view(), name="api-trades"),
    path("places/", api.PlaceListApi.as_view(), name="api-places"),
    path("profile/", api.ProProfileApi.as_view(), name="api-profile"),
    path("pros/<int:user_id>/", api.ProPublicApi.as_view(), name="api-pro"),
    path("jobs/", api.JobListCreateApi.as_view(), name="api-jobs"),
    path("jobs/<int:job_id>/", api.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/cancel/", api.JobCancelApi.as_view(), name="api-job-cancel"),
    path("jobs/<int:job_id>/start/", api.JobStartApi.as_view(), name="api-job-start"),
    path("jobs/<int:job_id>/complete/", api.JobCompleteApi.as_view(), name="api-job-complete"),
    path("board/", api.BoardApi.as_view(), name="api-board"),
    path("leads/", api.LeadListApi.as_view(), name="api-leads"),
    path("leads/<int:lead_id>/seen/", api.LeadSeenApi.as_view(), name="api-lead-seen"),
]
