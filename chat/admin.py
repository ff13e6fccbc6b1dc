"""Admin for job chat: read-only (messages change only through services; the chat is a dispute's evidence)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import Message, Thread


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "sender", "text", "masked")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("pk", "job", "customer", "tradesperson", "last_message_at", "created_at")
    search_fields = ("job__title", "customer__username", "tradesperson__username")
    raw_id_fields = ("job", "customer", "tradesperson")
    readonly_fields = ("job", "customer", "tradesperson", "customer_read_up_to", "tradesperson_read_up_to", "last_message_at", "created_at")
    inlines = [MessageInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "thread", "sender", "created_at", "masked")
    list_filter = ("masked",)
    search_fields = ("text", "sender__username")
    readonly_fields = ("thread", "sender", "text", "client_key", "masked", "created_at")
