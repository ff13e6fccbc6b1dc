"""Reading a job's timeline as one person sees it."""

from __future__ import annotations

from typing import Any

from jobs.models import Job
from marketplace.accounts.models import User

from .entries import Viewer, entry_json, visible_to
from .models import JobTimelineEntry


def viewer_for(*, job: Job, user: User) -> Viewer | None:
    """How ``user`` relates to ``job`` (customer, tradesperson with a lead, staff); None if not at all."""
    if not user.is_authenticated:
        return None
    zone = user.time_zone or "UTC"
    if user.pk == job.customer_id:
        return Viewer(user_id=user.pk, role="customer", zone=zone)
    if user.is_tradesperson and job.leads.filter(tradesperson=user).exists():
        awarded = job.awarded_bid_id is not None and Job.objects.filter(pk=job.pk, awarded_bid__tradesperson=user).exists()
        return Viewer(user_id=user.pk, role="tradesperson", zone=zone, awarded=awarded)
    if user.is_staff:
        return Viewer(user_id=user.pk, role="staff", zone=zone)
    return None


def timeline_for(*, job: Job, user: User) -> list[dict[str, Any]]:
    """The entries ``user`` may see, oldest first, each with its sentence in their zone."""
    viewer = viewer_for(job=job, user=user)
    if viewer is None:
        return []
    entries = JobTimelineEntry.objects.filter(job_id=job.pk).order_by("sequence", "id")
    return [entry_json(entry, viewer) for entry in entries if visible_to(entry, viewer)]
