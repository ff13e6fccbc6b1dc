"""Insights API routes (see insights/api.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("insights/", api.InsightsApi.as_view(), name="api-insights"),
    path("insights/csv/", api.InsightsCsvApi.as_view(), name="api-insights-csv"),
    path("insights/platform/", api.PlatformInsightsApi.as_view(), name="api-insights-platform"),
    path("insights/platform/csv/", api.PlatformInsightsCsvApi.as_view(), name="api-insights-platform-csv"),
]
