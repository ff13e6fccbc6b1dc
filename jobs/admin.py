from django.contrib import admin

from .models import Job, JobBoardEntry, Trade


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "trade", "customer", "status", "is_emergency", "budget_max", "created_at")
    list_filter = ("status", "trade", "is_emergency")
    search_fields = ("title", "description", "customer__username", "place")
    raw_id_fields = ("customer",)
    date_hierarchy = "created_at"
    # Jobs change through services (which emit events), not by editing rows here.
    readonly_fields = ("status", "idempotency_key", "created_at", "updated_at")


@admin.register(JobBoardEntry)
class JobBoardEntryAdmin(admin.ModelAdmin):
    list_display = ("job_id", "title", "trade_name", "status", "posted_at", "last_sequence")
    list_filter = ("status", "trade_slug", "is_emergency")
    search_fields = ("title", "description")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
