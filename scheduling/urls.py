"""Scheduling pages (see scheduling/views.py); the API is in scheduling/api_urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("dispatch/", views.dispatch, name="dispatch"),
    path("jobs/<int:job_id>/dependencies/", views.job_dependency_add, name="job-dependency-add"),
    path("jobs/<int:job_id>/dependencies/<int:prerequisite_id>/remove/", views.job_dependency_remove, name="job-dependency-remove"),
    path("availability/", views.availability_list, name="availability"),
    path("availability/<int:worker_id>/", views.availability_worker, name="availability-worker"),
    path("calendar/feed/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("my-day/", views.my_day, name="my-day"),
    path("team/", views.team, name="team"),
    path("team/join/<str:token>/", views.team_join, name="team-join"),
]
