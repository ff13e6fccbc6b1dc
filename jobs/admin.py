"""Admin for jobs, profiles, leads and bids.

Write-model rows that carry events (jobs, bids, leads) are read-only here: they
change through services so every change is an event.  Badges on profiles are
the one thing only admins set.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin

from . import services
from .models import Bid, Job, JobBoardEntry, JobPhoto, Lead, ProStats, Trade, TradeActivity, TradespersonProfile


class ReadOnlyMixin(ReadOnlyAdminMixin):
    allow_delete = True  # staff may remove spam jobs and their rows


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(TradespersonProfile)
class TradespersonProfileAdmin(admin.ModelAdmin):
    list_display = (
        "business_name",
        "user",
        "base_place",
        "service_radius_km",
        "is_accepting_leads",
        "vat_registered",
        "vat_number",
        "is_id_verified",
        "is_insured",
    )
    list_filter = ("is_id_verified", "is_insured", "is_accepting_leads", "vat_registered", "trades")
    list_editable = ("is_id_verified", "is_insured")
    search_fields = ("business_name", "user__username", "base_place")
    raw_id_fields = ("user",)
    filter_horizontal = ("trades",)


class JobPhotoInline(admin.TabularInline):
    model = JobPhoto
    extra = 0
    readonly_fields = ("image", "uploaded_at")


class BidInline(ReadOnlyMixin, admin.TabularInline):
    model = Bid
    extra = 0
    fields = ("tradesperson", "amount", "status", "revision", "created_at")
    readonly_fields = fields


class LeadInline(ReadOnlyMixin, admin.TabularInline):
    model = Lead
    extra = 0
    fields = ("tradesperson", "match_round", "distance_km", "score", "offered_at", "seen_at", "bid_at")
    readonly_fields = fields


@admin.register(Job)
class JobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Jobs, and the moderation queue of public titles: filter "Moderation status: Pending review", then approve or reject."""

    list_display = (
        "id",
        "title",
        "trade",
        "customer",
        "status",
        "moderation_status",
        "moderation_flags",
        "is_emergency",
        "budget_max",
        "match_round",
        "created_at",
        "expires_at",
    )
    list_filter = ("moderation_status", "status", "trade", "is_emergency", "match_round")
    search_fields = ("=id", "title", "description", "customer__username", "place")
    date_hierarchy = "created_at"
    inlines = [JobPhotoInline, LeadInline, BidInline]
    actions = ["approve_for_public_listings", "reject_from_public_listings"]

    @admin.action(description="Approve the selected titles for public listings")
    def approve_for_public_listings(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._moderate(request, queryset, approve=True)

    @admin.action(description="Reject the selected titles from public listings")
    def reject_from_public_listings(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._moderate(request, queryset, approve=False)

    def _moderate(self, request: HttpRequest, queryset: QuerySet[Job], *, approve: bool) -> None:
        user = request.user
        assert isinstance(user, User)  # the admin site lets only signed-in staff in
        verb = "Approved" if approve else "Rejected"
        for job in queryset:
            services.job_moderate(job=job, moderator=user, approve=approve)
            self.log_change(request, job, f"{verb} for public listings")
        self.message_user(request, f"{verb} {len(queryset)} job title(s) for public listings.", messages.SUCCESS)


@admin.register(Lead)
class LeadAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("job", "tradesperson", "match_round", "distance_km", "score", "offered_at", "seen_at", "bid_at")
    list_filter = ("match_round", ("seen_at", admin.EmptyFieldListFilter), ("bid_at", admin.EmptyFieldListFilter))
    search_fields = ("=job__id", "job__title", "tradesperson__username")
    date_hierarchy = "offered_at"


@admin.register(Bid)
class BidAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "job", "tradesperson", "amount", "status", "revision", "created_at")
    list_filter = ("status",)
    search_fields = ("=job__id", "job__title", "tradesperson__username")
    date_hierarchy = "created_at"


@admin.register(JobBoardEntry)
class JobBoardEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("job_id", "title", "trade_name", "status", "bid_count", "posted_at", "last_sequence")
    list_filter = ("status", "trade_slug", "is_emergency")
    search_fields = ("title", "description")


@admin.register(TradeActivity)
class TradeActivityAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("trade_name", "open_jobs", "posted_total")


@admin.register(ProStats)
class ProStatsAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "tradesperson_id",
        "leads_offered",
        "leads_seen",
        "bids_placed",
        "jobs_won",
        "no_shows",
        "average_response_minutes",
        "rating_average",
    )


@admin.register(JobPhoto)
class JobPhotoAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "image", "uploaded_at")
    search_fields = ("=job__id",)
    raw_id_fields = ("job",)
