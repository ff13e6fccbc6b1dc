"""Admin for scheduling: workers and their hours are editable; appointments change only through services (events).

Job dependencies are added and deleted here through ``scheduling.services`` (``dependency_add`` /
``dependency_remove``), so the admin gets the same loop check, flags and events as the job page
and the API; a refusal comes back as a message on the add form, with what was typed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import urlencode

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.errors import ServiceError

from . import services
from .models import (
    Appointment,
    EmergencyReserve,
    Invitation,
    JobDependency,
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
    list_display = ("name", "owner", "role", "user", "time_zone", "travel_buffer_minutes", "active")
    list_filter = ("active", "role")
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


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # the admin only lets signed-in staff in
    return user


@admin.register(JobDependency)
class JobDependencyAdmin(admin.ModelAdmin):
    """Add or delete "this job after that one" for a customer; a link is never edited (delete it and add another)."""

    list_display = ("__str__", "customer", "created_by", "created_at")
    list_select_related = ("job", "depends_on", "job__customer", "created_by")
    search_fields = ("job__title", "depends_on__title", "job__customer__username")
    raw_id_fields = ("job", "depends_on")
    fields = ("job", "depends_on")
    date_hierarchy = "created_at"

    @admin.display(description="customer", ordering="job__customer__username")
    def customer(self, obj: JobDependency) -> str:
        return str(obj.job.customer)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            return super().add_view(request, form_url, extra_context)
        except ServiceError as exc:
            # Raised by save_model inside the admin's transaction, which rolled everything back: say why, keep the input.
            messages.error(request, exc.message)
            typed = {key: request.POST[key] for key in ("job", "depends_on") if request.POST.get(key)}
            return HttpResponseRedirect(f"{request.path}?{urlencode(typed)}")

    def save_model(self, request: HttpRequest, obj: JobDependency, form: ModelForm, change: bool) -> None:
        dependency = services.dependency_add(job=obj.job, depends_on=obj.depends_on, actor=_staff(request))
        obj.pk, obj.created_by_id, obj.created_at = dependency.pk, dependency.created_by_id, dependency.created_at

    def delete_model(self, request: HttpRequest, obj: JobDependency) -> None:
        services.dependency_remove(job=obj.job, depends_on=obj.depends_on, actor=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[JobDependency]) -> None:
        for dependency in queryset.select_related("job", "depends_on"):
            self.delete_model(request, dependency)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Team invitations as the owners sent them (the token's hash stays out of sight); owners manage them on /team/."""

    list_display = ("email", "name", "owner", "role", "status", "sent_at", "expires_at", "accepted_at")
    list_filter = ("status", "role")
    search_fields = ("email", "name", "owner__username")
    exclude = ("token_hash",)
    raw_id_fields = ("owner", "worker")


@admin.register(EmergencyReserve)
class EmergencyReserveAdmin(ReadOnlyAdmin):
    """Set by the business on its dispatch board (scheduling.services.emergency_reserve_set)."""

    list_display = ("owner", "minutes", "updated_at")
    search_fields = ("owner__username",)
    raw_id_fields = ("owner",)
