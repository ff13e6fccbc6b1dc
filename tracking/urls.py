"""Tracking pages (see tracking/views.py); the API is in tracking/api_urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("visits/<int:job_id>/", views.visit_page, name="visit"),
]
