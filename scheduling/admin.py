"""Admin for scheduling: workers and their hours are editable; appointments change only through services (events)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import (
    Appointment,
    EmergencyReserve,
    Reminder,
    SlotProposal,
    TimeOff,
    TradeAreaCapacity,
    Worker,
    WorkerDayCapacity,
    WorkingHours,
)


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "time_zone", "travel_buffer_minutes", "active")
    list_filter = ("active",)
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner", "user")
    inlines = [WorkingHoursInline, TimeOffInline]


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows written by services (with their events) or by projections: admins look, they do not edit."""


class ReminderInline(admin.TabularInline):
    model = Reminder
    extra = 0
    fields = ("kind", "starts_at", "due_at", "sent_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("job", "worker", "starts_at", "ends_at", "status", "confirmed_at", "flagged_at")
    list_filter = ("status", ("flagged_at", admin.EmptyFieldListFilter), ("confirmed_at", admin.EmptyFieldListFilter))
    search_fields = ("job__title", "worker__name")
    date_hierarchy = "starts_at"
    raw_id_fields = ("job", "worker", "booked_by")
    inlines = [ReminderInline]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SlotProposal)
class SlotProposalAdmin(ReadOnlyAdmin):
    list_display = ("job", "worker", "status", "duration_minutes", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("job", "worker", "proposed_by", "appointment")


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("appointment", "kind", "starts_at", "due_at", "sent_at")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    date_hierarchy = "due_at"


@admin.register(WorkerDayCapacity)
class WorkerDayCapacityAdmin(ReadOnlyAdmin):
    list_display = ("worker_id", "owner_id", "day", "working_minutes", "booked_minutes", "free_minutes", "longest_free_minutes")
    list_filter = ("day",)
    search_fields = ("worker_id", "owner_id")


@admin.register(TradeAreaCapacity)
class TradeAreaCapacityAdmin(ReadOnlyAdmin):
    list_display = ("trade_slug", "area", "area_label", "day", "workers", "fully_booked_workers", "free_minutes")
    list_filter = ("trade_slug", "day")
    search_fields = ("area", "area_label")


@admin.register(EmergencyReserve)
class EmergencyReserveAdmin(ReadOnlyAdmin):
    """Set by the business on its dispatch board (scheduling.services.emergency_reserve_set)."""

    list_display = ("owner", "minutes", "updated_at")
    search_fields = ("owner__username",)
    raw_id_fields = ("owner",)
