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
from marketplace.errors import ServiceError

from . import credentials
from .models import Bid, Credential, Job, JobBoardEntry, JobPhoto, Lead, ProStats, Trade, TradeActivity, TradespersonProfile


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


class AwaitingVerificationFilter(admin.SimpleListFilter):
    title = "verification"
    parameter_name = "verification"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Credential]) -> list[tuple[str, str]]:
        return [("awaiting", "Awaiting verification"), ("badge", "Showing a badge"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Credential]) -> QuerySet[Credential]:
        value = self.value()
        if value == "awaiting":
            return queryset.filter(status=Credential.Status.PENDING).order_by("created_at")
        if value == "badge":
            return queryset.filter(status=Credential.Status.VERIFIED, expires_on__gte=credentials.today())
        if value == "expired":
            return queryset.filter(status=Credential.Status.EXPIRED)
        return queryset


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Staff check a credential against the public register (Gas Safe, NICEIC, ...) or the policy, then verify or reject.

    Status changes only through the actions, so each one is a ``credential.*`` event and open profile pages update.
    """

    list_display = ("profile", "kind", "number", "expires_on", "status", "verified_by", "verified_at", "created_at")
    list_filter = (AwaitingVerificationFilter, "status", "kind")
    search_fields = ("number", "profile__business_name", "profile__user__username")
    readonly_fields = ("profile", "kind", "number", "expires_on", "document", "status", "verified_by", "verified_at", "created_at")
    fields = (*readonly_fields, "rejection_reason")
    actions = ["verify_credentials", "reject_credentials"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the tradesperson adds their own, on their credentials page

    @admin.action(description="Verify selected credentials (checked against the register)")
    def verify_credentials(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        self._decide(request, queryset, verify=True)

    @admin.action(description="Reject selected credentials (no badge)")
    def reject_credentials(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        self._decide(request, queryset, verify=False)

    def _decide(self, request: HttpRequest, queryset: QuerySet[Credential], *, verify: bool) -> None:
        staff = request.user
        assert isinstance(staff, User)  # the admin site lets only staff in
        changed = 0
        for credential in queryset:
            try:
                if verify:
                    changed += credentials.credential_verify(credential=credential, staff=staff)
                else:
                    changed += credentials.credential_reject(credential=credential, staff=staff, reason=credential.rejection_reason)
            except ServiceError as exc:
                self.message_user(request, f"{credential}: {exc.message}", messages.ERROR)
        verb = "Verified" if verify else "Rejected"
        self.message_user(request, f"{verb} {changed} credential(s); open profile pages update in a moment.", messages.SUCCESS)


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
    list_display = ("id", "title", "trade", "customer", "status", "is_emergency", "budget_max", "match_round", "created_at", "expires_at")
    list_filter = ("status", "trade", "is_emergency", "match_round")
    search_fields = ("=id", "title", "description", "customer__username", "place")
    date_hierarchy = "created_at"
    inlines = [JobPhotoInline, LeadInline, BidInline]


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
