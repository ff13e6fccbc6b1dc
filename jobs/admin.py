"""Admin for jobs, profiles, leads and bids.

Write-model rows that carry events (jobs, bids, leads) are read-only here: they
change through services so every change is an event.  Badges on profiles are
the one thing only admins set.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.errors import ServiceError

from . import credentials, services
from .models import (
    Bid,
    Credential,
    Job,
    JobBoardEntry,
    JobPhoto,
    Lead,
    PortfolioPhoto,
    ProStats,
    QuestionChoice,
    Trade,
    TradeActivity,
    TradeQuestion,
    TradespersonProfile,
)


class ReadOnlyMixin(ReadOnlyAdminMixin):
    allow_delete = True  # staff may remove spam jobs and their rows


class TradeQuestionInline(admin.TabularInline):
    """A trade's questions in the order the job form asks them; choices and conditions on each question's own page."""

    model = TradeQuestion
    fk_name = "trade"
    extra = 0
    fields = ("position", "label", "key", "kind", "required")
    ordering = ("position", "pk")
    show_change_link = True
    verbose_name_plural = "questions the job form asks (edit a question for its choices and condition)"


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "question_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TradeQuestionInline]

    @admin.display(description="questions")
    def question_count(self, trade: Trade) -> int:
        return trade.questions.count()


class QuestionChoiceInline(admin.TabularInline):
    model = QuestionChoice
    extra = 1
    fields = ("position", "label", "value")
    ordering = ("position", "pk")
    prepopulated_fields = {"value": ("label",)}
    verbose_name_plural = "choices (for one choice and several choices)"


@admin.register(TradeQuestion)
class TradeQuestionAdmin(admin.ModelAdmin):
    list_display = ("label", "trade", "position", "kind", "required", "key", "show_if_question", "show_if_value")
    list_display_links = ("label",)
    list_editable = ("position", "required")
    list_filter = ("trade", "kind", "required")
    search_fields = ("label", "key")
    ordering = ("trade__name", "position", "pk")
    list_select_related = ("trade", "show_if_question")
    inlines = [QuestionChoiceInline]
    fieldsets = (
        (None, {"fields": ("trade", "position", "label", "help", "kind", "required", "key")}),
        ("Numbers", {"fields": ("min_value", "max_value"), "description": "For number questions only."}),
        ("Condition", {"fields": ("show_if_question", "show_if_value"), "description": "Leave empty to always ask it."}),
    )
    prepopulated_fields = {"key": ("label",)}


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
    readonly_fields = ("declined_answers",)  # the business's own choice, made on its profile page
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


@admin.display(description="photo")
def photo_preview(photo: JobPhoto | PortfolioPhoto) -> str:
    """The thumbnail, linking to the photo, through the views that check who asks (staff may see every job's photos)."""
    if not photo.pk:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" style="max-height:80px"></a>', photo.url, photo.thumb_url
    )


class JobPhotoInline(ReadOnlyMixin, admin.TabularInline):
    """Photos come only from the customer's upload, which strips their metadata: staff look, they do not add."""

    model = JobPhoto
    extra = 0
    fields = ("preview", "uploaded_at")
    readonly_fields = fields

    @admin.display(description="photo")
    def preview(self, photo: JobPhoto) -> str:
        return photo_preview(photo)


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
    list_display = ("id", "job", "preview", "uploaded_at")
    search_fields = ("=job__id",)
    fields = ("job", "preview", "uploaded_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only the customer's upload makes a photo (metadata stripped, thumbnail made)

    @admin.display(description="photo")
    def preview(self, photo: JobPhoto) -> str:
        return photo_preview(photo)


@admin.register(PortfolioPhoto)
class PortfolioPhotoAdmin(admin.ModelAdmin):
    """Staff may take down a portfolio photo (moderation); tradespeople add theirs on their profile page."""

    list_display = ("id", "profile", "preview", "caption", "uploaded_at")
    search_fields = ("profile__business_name", "caption")
    fields = ("profile", "preview", "caption", "position", "uploaded_at")
    readonly_fields = ("profile", "preview", "uploaded_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="photo")
    def preview(self, photo: PortfolioPhoto) -> str:
        return photo_preview(photo)


@admin.register(QuestionChoice)
class QuestionChoiceAdmin(admin.ModelAdmin):
    list_display = ("label", "value", "question", "position")
    list_filter = ("question__trade",)
    search_fields = ("label", "value", "question__label")
    list_select_related = ("question", "question__trade")
