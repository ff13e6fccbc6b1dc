"""The audit log and job timelines in admin: read-only (the database refuses edits to the log anyway)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import AuditLog


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "event_type", "aggregate", "sequence", "actor_id", "topic", "recorded_at")
    list_filter = ("event_type", "topic", "aggregate_type", ("occurred_at", admin.DateFieldListFilter), "tombstone")
    search_fields = ("=aggregate_id", "=event_id", "=correlation_id")
    search_help_text = "Aggregate id (a job or payment number), event id or correlation id, exactly."
    date_hierarchy = "occurred_at"
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "event_id", "event_type", "schema_version", "topic", "partition", "offset", "key", "aggregate_type", "aggregate_id",
        "sequence", "actor_id", "correlation_id", "causation_id", "tombstone", "occurred_at", "recorded_at", "pretty_payload",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="aggregate", ordering="aggregate_id")
    def aggregate(self, obj: AuditLog) -> str:
        return f"{obj.aggregate_type} {obj.aggregate_id}"

    @admin.display(description="payload")
    def pretty_payload(self, obj: AuditLog) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))
