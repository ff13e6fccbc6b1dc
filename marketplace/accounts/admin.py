from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from marketplace.errors import ServiceError
from marketplace.privacy.services import user_erase
from marketplace.privacy.views import export_response

from .models import ApiToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_staff", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Marketplace", {"fields": ("role", "display_name", "time_zone")}))
    actions = ["download_data", "erase"]

    @admin.action(description="Download their data (subject access request, JSON)")
    def download_data(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Choose one account: each person's data is a file of its own.", messages.WARNING)
            return None
        return export_response(queryset.get())

    @admin.action(description="Erase (UK GDPR): pseudonymise the account and remove their data")
    def erase(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor: Any = request.user
        done = 0
        for user in queryset:
            try:
                user_erase(user=user, actor=actor)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"{user.username}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Erased {done} account(s).", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see and delete (revoke) API tokens; tokens are made by their owners only (the token is shown once, to them)."""

    list_display = ("user", "label", "token_key", "created", "expiry", "last_used_at")
    search_fields = ("user__username", "label", "token_key")
    fields = ("user", "label", "token_key", "created", "expiry", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
