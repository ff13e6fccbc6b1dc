"""Scheduling pages (see scheduling/views.py); the API is in scheduling/api_urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("dispatch/", views.dispatch, name="dispatch"),
    path("my-day/", views.my_day, name="my-day"),
    path("team/", views.team, name="team"),
    path("team/join/<str:token>/", views.team_join, name="team-join"),
]
