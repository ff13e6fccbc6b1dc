"""``{% job_timeline job as entries %}``: the timeline entries the signed-in viewer may see."""

from __future__ import annotations

from typing import Any

from django import template

from jobs.models import Job
from timeline.selectors import timeline_for

register = template.Library()


@register.simple_tag(takes_context=True)
def job_timeline(context: dict[str, Any], job: Job) -> list[dict[str, Any]]:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return []
    return timeline_for(job=job, user=user)
