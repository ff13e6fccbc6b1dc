"""Admin for tracking: visits and their steps, read-only (they change through services, with events).

Positions are not shown here: the privacy rule keeps them to the job's customer while the
tradesperson is on the way (and the trail is purged after a day).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import Visit, VisitStep


class VisitStepInline(admin.TabularInline):
    model = VisitStep
    extra = 0
    fields = ("stage", "at", "auto", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("job", "stage", "worker", "on_the_way_at", "arrived_at", "arrived_auto", "drift_alerted_at", "completed_at")
    list_filter = ("stage", "arrived_auto")
    search_fields = ("job__title",)
    fields = (
        "job",
        "worker",
        "stage",
        "stage_changed_at",
        "on_the_way_at",
        "arrived_at",
        "arrived_auto",
        "started_at",
        "completed_at",
        "drift_alerted_at",
        "eta_minutes",
        "eta_late",
    )
    readonly_fields = fields
    inlines = [VisitStepInline]
