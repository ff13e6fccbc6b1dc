"""Admin for the event backbone: outbox backlog, inbox, dead letters with a re-drive action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Min, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import AggregateSequence, DeadLetter, OutboxEvent, ProcessedEvent
from .replay import redrive


class PublishedFilter(admin.SimpleListFilter):
    title = "published"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Waiting (backlog)"), ("yes", "Published")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> QuerySet[OutboxEvent]:
        if self.value() == "no":
            return queryset.filter(published_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(published_at__isnull=False)
        return queryset


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    allow_delete = True  # e.g. dismissing a dead letter that will never be re-driven


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_type", "topic", "key", "sequence", "created_at", "published_at", "publish_attempts")
    list_filter = (PublishedFilter, "topic", "event_type")
    search_fields = ("=event_id", "=key", "event_type")
    date_hierarchy = "created_at"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        pending = OutboxEvent.objects.filter(published_at__isnull=True)
        oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0
        messages.info(request, f"Outbox backlog: {pending.count()} event(s) waiting; oldest {age:.0f} s old.")
        return super().changelist_view(request, extra_context)


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(ReadOnlyAdmin):
    list_display = ("consumer", "event_type", "event_id", "processed_at")
    list_filter = ("consumer", "event_type")
    search_fields = ("=event_id",)


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("id", "consumer", "topic", "partition", "offset", "event_type", "error_class", "status", "attempts", "created_at")
    list_filter = ("status", "consumer", "topic", "error_class")
    search_fields = ("=event_id", "error", "key")
    actions = ["redrive_selected", "discard_selected"]
    readonly_fields = ("error",)

    @admin.action(description="Re-drive selected dead letters through their consumer")
    def redrive_selected(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        ok = failed = 0
        for letter in queryset.filter(status=DeadLetter.Status.PENDING):
            succeeded, _ = redrive(letter)
            ok += succeeded
            failed += not succeeded
        level = messages.SUCCESS if not failed else messages.WARNING
        self.message_user(request, f"Re-driven: {ok}; still failing: {failed}.", level)

    @admin.action(description="Discard selected dead letters")
    def discard_selected(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        count = queryset.filter(status=DeadLetter.Status.PENDING).update(status=DeadLetter.Status.DISCARDED, resolved_at=timezone.now())
        self.message_user(request, f"Discarded {count} dead letter(s).")


@admin.register(AggregateSequence)
class AggregateSequenceAdmin(ReadOnlyAdmin):
    list_display = ("aggregate_type", "aggregate_id", "last_sequence")
    list_filter = ("aggregate_type",)
    search_fields = ("=aggregate_id",)
