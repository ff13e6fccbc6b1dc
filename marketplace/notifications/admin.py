from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Delivery, InboundSms, Notification, NotificationPreferences, SmsReply
from .services import deliveries_retry_failed


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "to", "status", "attempts", "last_error", "next_attempt_at", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "title", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "recipient__username", "dedupe_key")
    raw_id_fields = ("recipient",)
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Email and SMS sends: what failed and why.

    "Retry failed sends" gives failed rows a fresh set of attempts (the clock sends them within a
    tick); ``manage.py send_pending_notifications --now`` sends what is pending at once.
    """

    list_display = ("notification", "channel", "to", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("channel", "status")
    search_fields = ("to", "notification__recipient__username", "notification__title")
    raw_id_fields = ("notification",)
    readonly_fields = ("notification", "channel", "to", "attempts", "last_error", "claimed_at", "sent_at", "created_at")
    actions = ["retry_failed"]

    @admin.action(description="Retry failed sends", permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        reset = deliveries_retry_failed(delivery_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - reset
        self.message_user(
            request,
            f"{reset} failed send(s) will be retried on the clock's next pass."
            + (f" {skipped} selected were not failed and were left alone." if skipped else ""),
            messages.SUCCESS if reset else messages.WARNING,
        )


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "phone", "important_email", "important_sms", "updates_email", "updates_sms", "updated_at")
    search_fields = ("user__username", "phone")
    raw_id_fields = ("user",)


class SmsReplyInline(admin.StackedInline):
    model = SmsReply
    extra = 0
    can_delete = False
    fields = ("to", "text", "status", "attempts", "last_error", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(InboundSms)
class InboundSmsAdmin(admin.ModelAdmin):
    """Texts people sent us (verified webhook), what each did, and our answer. Read-only: they are records."""

    list_display = ("received_at", "provider", "from_number", "body", "outcome")
    list_filter = ("provider",)
    search_fields = ("from_number", "message_id", "body")
    readonly_fields = ("provider", "message_id", "from_number", "body", "received_at", "outcome")
    inlines = [SmsReplyInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SmsReply)
class SmsReplyAdmin(admin.ModelAdmin):
    """Our answers to inbound texts; a failed one is retried by the clock (like a Delivery)."""

    list_display = ("created_at", "to", "text", "status", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("to", "text")
    readonly_fields = ("inbound", "to", "text", "attempts", "last_error", "claimed_at", "sent_at", "created_at")
