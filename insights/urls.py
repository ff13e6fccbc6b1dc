"""Insights pages (see insights/views.py); the API is in insights/api_urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("insights/", views.dashboard_page, name="insights"),
    path("insights/platform/", views.platform_page, name="insights-platform"),
]
