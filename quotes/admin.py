"""Admin for promo codes (managed here) and their redemptions (read-only: they change only through ``quotes.promos``)."""

from __future__ import annotations

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from .models import PromoCode, PromoRedemption


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "value", "usage", "valid_from", "valid_until", "trade", "is_active")
    list_filter = ("kind", "is_active", "trade")
    search_fields = ("code", "description")
    readonly_fields = ("uses", "created_at")
    list_select_related = ("trade",)
    date_hierarchy = "valid_from"

    @admin.display(description="Uses")
    def usage(self, obj: PromoCode) -> str:
        return f"{obj.uses} / {'∞' if obj.max_uses is None else obj.max_uses}"

    def save_model(self, request: HttpRequest, obj: PromoCode, form: ModelForm, change: bool) -> None:
        if not change:
            obj.save()
            return
        # Never write back the form's copy of `uses`: redemptions may have counted since the page was loaded.
        fields = [f.name for f in PromoCode._meta.concrete_fields if f.name not in {"id", "uses", "created_at"}]
        obj.save(update_fields=fields)


@admin.register(PromoRedemption)
class PromoRedemptionAdmin(admin.ModelAdmin):
    list_display = ("promo", "customer", "reference", "amount", "created_at")
    list_filter = ("promo",)
    search_fields = ("customer__username", "reference")
    list_select_related = ("promo", "customer")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PromoRedemption | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PromoRedemption | None = None) -> bool:
        return False
