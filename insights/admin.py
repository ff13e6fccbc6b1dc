"""Admin for insights: the daily aggregates, read-only (the ``insights`` consumer writes them; rebuild with
``manage.py replay_events insights``).  The charts are at /insights/platform/, linked from the admin index."""

from __future__ import annotations

from django.contrib import admin

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import DailyMetric


@admin.register(DailyMetric)
class DailyMetricAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("day", "trade_slug", "tradesperson_id", "jobs_posted", "jobs_awarded", "jobs_completed", "jobs_cancelled", "revenue")
    list_filter = ("trade_slug", "day")
    search_fields = ("trade_slug",)
    date_hierarchy = "day"
    ordering = ("-day", "trade_slug", "tradesperson_id")
