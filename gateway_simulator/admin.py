"""Read-only admin for the SIMULATED gateway's state: it changes only through gateway_simulator.gateway, like a remote processor's."""

from __future__ import annotations

from django.contrib import admin

from marketplace.admin_mixins import ReadOnlyAdminMixin

from .models import Authorization, Charge, IdempotencyReply, IdSequence, RetriedKey


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """List and view only: no add, change or delete."""


@admin.register(Authorization)
class AuthorizationAdmin(ReadOnlyAdmin):
    list_display = ("id", "state", "currency", "authorized", "captured", "refunded", "created_at", "updated_at")
    list_filter = ("state", "currency")
    search_fields = ("id",)
    date_hierarchy = "created_at"


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ("id", "authorization", "created_at")
    search_fields = ("id", "authorization__id")
    list_select_related = ("authorization",)
    date_hierarchy = "created_at"


@admin.register(IdempotencyReply)
class IdempotencyReplyAdmin(ReadOnlyAdmin):
    list_display = ("key", "operation", "status", "gateway_id", "amount", "message", "created_at")
    list_filter = ("operation", "status")
    search_fields = ("key", "gateway_id")
    exclude = ("fingerprint",)
    date_hierarchy = "created_at"


@admin.register(RetriedKey)
class RetriedKeyAdmin(ReadOnlyAdmin):
    list_display = ("key", "created_at")
    search_fields = ("key",)


@admin.register(IdSequence)
class IdSequenceAdmin(ReadOnlyAdmin):
    list_display = ("name", "value")
