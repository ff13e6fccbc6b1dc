from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import ApiToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_staff", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Marketplace", {"fields": ("role", "display_name", "time_zone")}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff see and delete (revoke) API tokens; tokens are made by their owners only (the token is shown once, to them)."""

    list_display = ("user", "label", "token_key", "created", "expiry", "last_used_at")
    search_fields = ("user__username", "label", "token_key")
    fields = ("user", "label", "token_key", "created", "expiry", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
