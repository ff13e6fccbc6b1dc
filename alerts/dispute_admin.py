"""Admin for disputes (``payments.models.Dispute``): the open ones first, the evidence, and the resolution form.

It lives in ``alerts`` (the staff side) rather than in ``payments/admin.py`` because its evidence —
the job's timeline (``timeline``), chat (``chat``) and photos (``jobs``) — comes from apps the
layers put above payments; alerts sits above them all. Resolving calls
:func:`payments.approval.dispute_resolve` (staff only), whose sentences are shown as they are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from chat.models import Message
from jobs.models import JobPhoto
from marketplace.accounts.models import User
from marketplace.admin_mixins import ReadOnlyAdminMixin
from marketplace.errors import ServiceError
from marketplace.money import format_money
from payments.approval import dispute_resolve
from payments.models import Dispute
from timeline.models import JobTimelineEntry

EVIDENCE_LIMIT = 200  # timeline entries and chat messages shown, oldest first


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(choices=Dispute.Resolution.choices, widget=forms.RadioSelect, label="Outcome")
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        label="Refund amount",
        help_text="For a partial refund only.",
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown to the customer and the tradesperson."
    )


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "job", "customer", "tradesperson", "status", "price", "opened_at", "resolution", "resolved_at")
    list_filter = ("status", "resolution")
    search_fields = ("=job__id", "=id", "opened_by__username", "opened_by__email")
    list_select_related = ("job", "payment__acceptance", "payment__customer", "payment__tradesperson")
    date_hierarchy = "opened_at"
    fields = ("job", "status", "description", "opened_by", "opened_at", "resolution", "amount", "staff_note", "resolved_by", "resolved_at")
    readonly_fields = fields
    change_form_template = "admin/payments/dispute/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        # Open ones first (oldest first: they have waited longest), then the resolved ones.
        return super().get_queryset(request).order_by("-status", "opened_at")  # "resolved" > "open"

    @admin.display(description="Customer")
    def customer(self, obj: Dispute) -> User:
        return obj.payment.customer

    @admin.display(description="Tradesperson")
    def tradesperson(self, obj: Dispute) -> User:
        return obj.payment.tradesperson

    @admin.display(description="Price")
    def price(self, obj: Dispute) -> str:
        return format_money(obj.payment.acceptance.total)

    def get_urls(self) -> list[URLPattern]:
        resolve = path("<int:dispute_id>/resolve/", self.admin_site.admin_view(self.resolve_view), name="payments_dispute_resolve")
        return [resolve, *super().get_urls()]

    def evidence(self, dispute: Dispute) -> dict[str, Any]:
        job_id = dispute.job_id
        return {
            "timeline": list(JobTimelineEntry.objects.filter(job_id=job_id).order_by("sequence", "id")[:EVIDENCE_LIMIT]),
            "chat": list(
                Message.objects.filter(thread__job_id=job_id, thread__tradesperson_id=dispute.payment.tradesperson_id)
                .select_related("sender")
                .order_by("created_at", "id")[:EVIDENCE_LIMIT]
            ),
            "photos": list(JobPhoto.objects.filter(job_id=job_id).order_by("uploaded_at", "id")),
        }

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        dispute = Dispute.objects.select_related("payment__acceptance", "job").filter(pk=object_id).first()
        context = dict(extra_context or {})
        if dispute is not None:
            context.update(self._resolution_context(dispute, ResolveForm()))
        return super().change_view(request, object_id, form_url, context)

    def _resolution_context(self, dispute: Dispute, form: ResolveForm) -> dict[str, Any]:
        payment = dispute.payment
        return {
            "dispute": dispute,
            "payment": payment,
            "price": payment.acceptance.total,
            "resolve_form": form,
            "resolve_url": reverse("admin:payments_dispute_resolve", args=[dispute.pk]),
            **self.evidence(dispute),
        }

    def resolve_view(self, request: HttpRequest, dispute_id: int) -> HttpResponse:
        """POST only: resolve with the chosen outcome; a refusal shows the change page again with the sentence."""
        if not request.user.is_staff or not self.has_view_permission(request) or request.method != "POST":
            raise PermissionDenied
        dispute = get_object_or_404(Dispute.objects.select_related("payment__acceptance", "job"), pk=dispute_id)
        form = ResolveForm(request.POST)
        if form.is_valid():
            actor = request.user
            assert isinstance(actor, User)
            try:
                dispute_resolve(
                    dispute=dispute,
                    actor=actor,
                    outcome=form.cleaned_data["outcome"],
                    amount=form.cleaned_data["amount"],
                    note=form.cleaned_data["note"],
                )
            except ServiceError as exc:
                form.add_error("amount" if exc.code == "bad_amount" else None, exc.message)
            else:
                label = Dispute.Resolution(form.cleaned_data["outcome"]).label
                self.message_user(request, f"Resolved: {label}. Both parties have been told; the payment is being settled.")
                return HttpResponseRedirect(reverse("admin:payments_dispute_change", args=[dispute.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Problem with job {dispute.job_id}",
            "opts": self.opts,
            "original": dispute,
            **self._resolution_context(dispute, form),
        }
        return TemplateResponse(request, "admin/payments/dispute/resolve.html", context, status=400)
