"""Template tag that drops the sign-off panel into the job page (customer) and the lead page (tradesperson)."""

from __future__ import annotations

from typing import Any

from django import template

from jobs.models import Job
from marketplace.accounts.models import User

from ..signoff_views import signoff_context

register = template.Library()


@register.inclusion_tag("payments/_signoff_panel.html", takes_context=True)
def signoff_panel(context: dict[str, Any], job: Job) -> dict[str, Any]:
    """The panel (hidden until the work is marked completed), with what the live refresh needs."""
    user = context["request"].user
    if not isinstance(user, User):
        return {"signoff": None, "job_id": job.pk}
    stream = f"job.{job.pk}" if user.pk == job.customer_id else f"user.{user.pk}"
    return {"job_id": job.pk, "stream": stream, "csrf_token": context.get("csrf_token"), **signoff_context(job_id=job.pk, viewer=user)}
