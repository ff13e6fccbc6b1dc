"""Template tags that drop the review panels into other apps' pages (the job page, the public profile)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.urls import reverse

from jobs.models import Job, TradespersonProfile
from marketplace.accounts.models import User

from .. import selectors
from ..models import ASPECTS, Report, Review
from ..serializers import ReviewOutputSerializer, public_name
from ..streams import pro_stream

register = template.Library()

ASPECT_LABELS = {"punctuality": "Punctuality", "quality": "Quality of work", "value": "Value for money", "communication": "Communication"}


@register.inclusion_tag("reviews/_job_review_panel.html", takes_context=True)
def job_review_panel(context: dict[str, Any], job: Job) -> dict[str, Any]:
    """The customer's review card on their job page: a form once the job is completed, then their review."""
    user = context["request"].user
    review = selectors.review_of_job(job)
    return {
        "job": job,
        "is_customer": isinstance(user, User) and user.pk == job.customer_id,
        "review": review,
        "review_json": ReviewOutputSerializer(review).data if review else None,
        "config": {
            "job_id": job.pk,
            "status": job.status,
            "review_url": reverse("api-job-review", args=[job.pk]),
            "job_stream": f"job.{job.pk}",
            "aspects": [[a, ASPECT_LABELS[a]] for a in ASPECTS],
        },
        "aspects": [(a, ASPECT_LABELS[a]) for a in ASPECTS],
        "stars": range(5, 0, -1),
    }


@register.inclusion_tag("reviews/_pro_reviews_panel.html", takes_context=True)
def pro_reviews_panel(context: dict[str, Any], pro: TradespersonProfile) -> dict[str, Any]:
    """Rating summary and reviews with replies on the public profile, live; reply forms for the tradesperson."""
    user = context["request"].user
    viewer = user if isinstance(user, User) else None
    pro_id = pro.user_id
    reviews = (
        list(selectors.reviews_for_viewer(pro_id=pro_id, viewer=viewer)[:50]) if viewer else list(selectors.reviews_for_pro(pro_id)[:50])
    )
    summary = selectors.summary_body(pro_id)
    return {
        "pro": pro,
        "summary": summary,
        "bars": [(n, summary["distribution"][str(n)]) for n in range(5, 0, -1)],
        "aspect_rows": [(ASPECT_LABELS[a], summary["aspects"][a]) for a in ASPECTS],
        "reviews": reviews,
        "is_owner": viewer is not None and viewer.pk == pro_id,
        "can_report": viewer is None or viewer.pk != pro_id,
        "config": {
            "pro_id": pro_id,
            "stream": pro_stream(pro_id) if viewer else None,
            "reviews_url": reverse("api-pro-reviews", args=[pro_id]),
            "reply_base": "/api/reviews/",
            "is_owner": viewer is not None and viewer.pk == pro_id,
            "can_report": viewer is None or viewer.pk != pro_id,
            "aspects": [[a, ASPECT_LABELS[a]] for a in ASPECTS],
        },
        "aspect_labels": ASPECT_LABELS,
    }


@register.filter
def stars(value: Any) -> str:
    """Five stars, filled to the nearest whole star."""
    n = max(0, min(5, int(Decimal(value or 0).quantize(Decimal(1), rounding=ROUND_HALF_UP))))
    return "★" * n + "☆" * (5 - n)


@register.filter
def percent_of(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


@register.filter
def reviewer(review: Review) -> str:
    return public_name(review)


@register.inclusion_tag("reviews/_report_dialog.html")
def report_dialog() -> dict[str, Any]:
    """The one Report dialog of a page (static/js/reviews.js opens it from any ``[data-report-target]`` button)."""
    return {"reasons": Report.Reason.choices, "config": {"report_url": reverse("api-reports")}}
