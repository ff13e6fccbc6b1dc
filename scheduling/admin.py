"""Admin for scheduling: workers and their hours are editable; appointments change only through services (events)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Appointment, TimeOff, Worker, WorkingHours


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


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("job", "worker", "starts_at", "ends_at", "status")
    list_filter = ("status",)
    raw_id_fields = ("job", "worker", "booked_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
