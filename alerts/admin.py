"""The staff alerts inbox (Django admin) and the webhook deliveries.

Alerts are raised only by ``alerts/services.py`` (the consumer and the clock): staff filter them by
status, severity and kind, open the job or the customer's 360 page, and acknowledge, resolve or
(re)send them to the webhook with the actions.  Deliveries are read-only with a retry action.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin

from . import dispute_admin, services  # noqa: F401 (dispute_admin registers the Dispute admin)
from .models import Alert, AlertDelivery, BackboneCondition, CancellationMark

SEVERITY_COLOURS: dict[str, str] = {Alert.Severity.INFO: "#2b6cb0", Alert.Severity.WARNING: "#b7791f", Alert.Severity.CRITICAL: "#c53030"}


def customer360_link(customer_id: int | None, label: str = "") -> SafeString | str:
    if not customer_id:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("customer360", args=[customer_id]), label or f"Customer {customer_id} (360)")


def job_link(job_id: int | None) -> SafeString | str:
    if not job_id:
        return "—"
    return format_html('<a href="{}">Job {}</a>', reverse("admin:jobs_job_change", args=[job_id]), job_id)


class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    extra = 0
    can_delete = False
    fields = ("channel", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("severity_badge", "title", "kind", "status", "customer", "job", "webhook", "created_at")
    list_display_links = ("title",)
    list_filter = ("status", "severity", "kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("title", "body", "dedupe_key")
    date_hierarchy = "created_at"
    actions = ("acknowledge", "resolve", "send_to_webhook")
    inlines = (AlertDeliveryInline,)
    fields = (
        "severity_badge",
        "kind",
        "status",
        "title",
        "body",
        "customer",
        "job",
        "tradesperson",
        "context_table",
        "occurred_at",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "resolution",
        "dedupe_key",
        "event_id",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return super().get_queryset(request).prefetch_related("deliveries")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The actions need "change" (asked without an object); the alert's page stays read-only.
        return obj is None and bool(request.user.has_perm("alerts.change_alert"))

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj: Alert) -> SafeString:
        colour = SEVERITY_COLOURS.get(obj.severity, "#555")
        return format_html(
            '<span class="alert-severity" style="color:#fff;background:{};padding:1px 6px;border-radius:3px">{}</span>',
            colour,
            obj.get_severity_display(),
        )

    @admin.display(description="customer")
    def customer(self, obj: Alert) -> SafeString | str:
        name = (obj.context.get("customer") or {}).get("name", "")
        return customer360_link(obj.customer_id, f"{name} (360)" if name else "")

    @admin.display(description="job")
    def job(self, obj: Alert) -> SafeString | str:
        return job_link(obj.job_id)

    @admin.display(description="tradesperson")
    def tradesperson(self, obj: Alert) -> str:
        who = obj.context.get("tradesperson") or {}
        if not who:
            return "—"
        return f"{who.get('name')}" + (f" ({who['business_name']})" if who.get("business_name") else "")

    @admin.display(description="webhook")
    def webhook(self, obj: Alert) -> str:
        deliveries = list(obj.deliveries.all())
        return ", ".join(f"{d.status} ({d.attempts})" for d in deliveries) or "—"

    @admin.display(description="context")
    def context_table(self, obj: Alert) -> SafeString:
        rows = [
            (key, json.dumps(value, indent=1, default=str) if isinstance(value, dict | list) else value)
            for key, value in obj.context.items()
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td><pre style='margin:0'>{}</pre></td></tr>", rows),
        )

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        assert isinstance(request.user, User)
        changed = services.alerts_acknowledge(alert_ids=queryset.values_list("pk", flat=True), by=request.user)
        self.message_user(request, f"Acknowledged {changed} alert(s).", messages.SUCCESS)

    @admin.action(description="Resolve selected alerts", permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        assert isinstance(request.user, User)
        changed = services.alerts_resolve(alert_ids=queryset.values_list("pk", flat=True), by=request.user, resolution="Resolved by staff.")
        self.message_user(request, f"Resolved {changed} alert(s).", messages.SUCCESS)

    @admin.action(description="Send selected alerts to the webhook now", permissions=["change"])
    def send_to_webhook(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            sent = services.alerts_send_to_webhook(alert_ids=ids)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        level = messages.SUCCESS if sent == len(ids) else messages.WARNING
        self.message_user(request, f"Sent {sent} of {len(ids)} alert(s); failures are retried by the clock (see Alert deliveries).", level)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("alert", "channel", "status", "attempts", "last_error", "next_attempt_at", "sent_at", "created_at")
    list_filter = ("status", "channel")
    search_fields = ("alert__title", "last_error")
    list_select_related = ("alert",)
    actions = ("retry",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and bool(request.user.has_perm("alerts.change_alertdelivery"))

    @admin.action(description="Retry selected deliveries now", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[AlertDelivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        sent = services.deliveries_retry(delivery_ids=ids)
        level = messages.SUCCESS if sent == len(ids) else messages.WARNING
        self.message_user(request, f"Sent {sent} of {len(ids)} delivery(ies).", level)


@admin.register(CancellationMark)
class CancellationMarkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("job_id", "occurred_at")
    date_hierarchy = "occurred_at"


@admin.register(BackboneCondition)
class BackboneConditionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the clock's backbone paging last saw per condition (alerts/backbone.py); read-only, the figures decide."""

    list_display = ("name", "level", "value", "breached_since", "alert", "checked_at")
    list_filter = ("level",)
    search_fields = ("name",)
    ordering = ("name",)
