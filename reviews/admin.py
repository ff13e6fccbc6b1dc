"""Admin for reviews: staff read them and hide or restore them with a reason (through the service, with an event).

*Reviews > Reports* is the moderation queue (``reviews/admin_queue.html``): reviews, replies and profiles the
rules flagged or people reported, with their reports; approve, hide or restore each (``reviews.moderation``:
a recorded decision and a ``content.*`` event). *Moderation decisions* is the read-only trail of who decided what.

Summaries are a read model: read-only here (the ``ratings`` consumer writes them; ``replay_events ratings`` rebuilds them).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.errors import ServiceError

from .models import ModerationDecision, RatedReview, RatingSummary, Report, Review
from .moderation import moderation_decide
from .selectors import moderation_queue
from .services import review_moderate


class ModerationForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Why (kept with the review).")


def _moderate(admin_obj: ReviewAdmin, request: HttpRequest, queryset: QuerySet[Review], *, hide: bool) -> HttpResponse | None:
    verb = "Hide" if hide else "Restore"
    form = ModerationForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        user = request.user
        assert isinstance(user, User)
        changed = 0
        for review in queryset:
            try:
                before = review.is_hidden
                after = review_moderate(review=review, moderator=user, hide=hide, reason=form.cleaned_data["reason"])
                changed += int(before != after.is_hidden)
            except ServiceError as exc:
                admin_obj.message_user(request, f"Review {review.pk}: {exc.message}", messages.ERROR)
        admin_obj.message_user(request, f"{verb}: {changed} review(s) changed; rating summaries update in a moment.", messages.SUCCESS)
        return None
    context = {
        **admin_obj.admin_site.each_context(request),
        "title": f"{verb} {queryset.count()} review(s)",
        "queryset": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "verb": verb,
        "opts": admin_obj.model._meta,
    }
    return TemplateResponse(request, "reviews/admin_moderate.html", context)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "job", "tradesperson", "customer", "rating", "is_hidden", "created_at", "replied_at")
    list_filter = ("is_hidden", "rating")
    search_fields = ("job__title", "comment", "reply", "customer__username", "tradesperson__username")
    date_hierarchy = "created_at"
    fields = (
        "job",
        "customer",
        "tradesperson",
        "rating",
        "punctuality",
        "quality",
        "value",
        "communication",
        "comment",
        "reply",
        "replied_at",
        "is_hidden",
        "moderation_reason",
        "moderated_at",
        "moderated_by",
        "created_at",
    )
    readonly_fields = fields
    actions = ["hide_reviews", "restore_reviews"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Hide selected reviews (asks for a reason)")
    def hide_reviews(self, request: HttpRequest, queryset: QuerySet[Review]) -> HttpResponse | None:
        return _moderate(self, request, queryset, hide=True)

    @admin.action(description="Restore selected reviews (asks for a reason)")
    def restore_reviews(self, request: HttpRequest, queryset: QuerySet[Review]) -> HttpResponse | None:
        return _moderate(self, request, queryset, hide=False)


@admin.register(RatingSummary)
class RatingSummaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("tradesperson_id", "count", "average", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5", "updated_at")
    search_fields = ("tradesperson_id",)
    readonly_fields = [f.name for f in RatingSummary._meta.fields]


@admin.register(RatedReview)
class RatedReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ratings consumer's copy of each review's stars and visibility (what summaries are computed from)."""

    list_display = ("review_id", "tradesperson_id", "job_id", "rating", "hidden", "posted_at", "last_sequence")
    list_filter = ("hidden", "rating")
    search_fields = ("tradesperson_id", "job_id")
    readonly_fields = [f.name for f in RatedReview._meta.fields]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderation queue: its changelist is the queue page; a POST decides one item (staff with change permission)."""

    list_display = ("id", "target", "reason", "review", "profile", "reporter", "created_at", "resolved_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, object] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            user = request.user
            assert isinstance(user, User)
            try:
                changed = moderation_decide(
                    target=request.POST.get("target", ""),
                    object_id=int(request.POST.get("object_id") or 0),
                    moderator=user,
                    action=request.POST.get("action", ""),  # type: ignore[arg-type]  # the service refuses anything else
                    reason=request.POST.get("reason", ""),
                )
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                done = {"approve": "Approved", "hide": "Hidden", "restore": "Restored"}.get(request.POST.get("action", ""), "Done")
                note = "; open pages update in a moment." if changed else " (it already was; its reports are closed)."
                self.message_user(request, f"{done}{note}", messages.SUCCESS)
            return HttpResponseRedirect(request.get_full_path())
        showing_hidden = request.GET.get("show") == "hidden"
        context = {
            **self.admin_site.each_context(request),
            "title": "Hidden by moderators" if showing_hidden else "Moderation queue",
            "items": moderation_queue(hidden=showing_hidden),
            "showing_hidden": showing_hidden,
            "opts": self.model._meta,
            "can_decide": self.has_change_permission(request),
        }
        return TemplateResponse(request, "reviews/admin_queue.html", context)


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who approved, hid or restored what, and when (automatic hides by reports have no moderator)."""

    list_display = ("created_at", "action", "target", "object_id", "tradesperson", "moderator", "reason")
    list_filter = ("action", "target")
    search_fields = ("reason", "moderator__username", "tradesperson__username")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ModerationDecision._meta.fields]
