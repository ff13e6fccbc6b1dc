from __future__ import annotations

from django.contrib import admin

from marketplace.audit.admin import ReadOnlyAdmin

from .models import JobTimelineEntry


@admin.register(JobTimelineEntry)
class JobTimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "sequence", "occurred_at", "event_type", "actor_role", "visibility", "tradesperson_id", "summary")
    list_filter = ("event_type", "visibility", "actor_role")
    search_fields = ("=job_id",)
    search_help_text = "Job number, exactly."
    list_per_page = 100
