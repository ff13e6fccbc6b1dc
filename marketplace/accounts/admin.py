from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_staff", "date_joined")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Marketplace", {"fields": ("role", "display_name", "time_zone")}))
