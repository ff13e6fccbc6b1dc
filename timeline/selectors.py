"""Reading a job's timeline as one person sees it."""

from __future__ import annotations

from typing import Any

from jobs.models import Job
from jobs.roles import JobRole, job_role
from marketplace.accounts.models import User

from .entries import Viewer, entry_json, visible_to
from .models import JobTimelineEntry


def viewer_for(*, job: Job, user: User) -> Viewer | None:
    """How ``user`` relates to ``job`` (customer, tradesperson with a lead, staff); None if not at all."""
    role = job_role(user, job)
    zone = user.time_zone or "UTC"
    if role is JobRole.CUSTOMER:
        return Viewer(user_id=user.pk, role="customer", zone=zone)
    if role in (JobRole.TRADESPERSON, JobRole.BIDDER):
        return Viewer(user_id=user.pk, role="tradesperson", zone=zone, awarded=role is JobRole.TRADESPERSON)
    if role is JobRole.STAFF:
        return Viewer(user_id=user.pk, role="staff", zone=zone)
    return None


def timeline_for(*, job: Job, user: User) -> list[dict[str, Any]]:
    """The entries ``user`` may see, oldest first, each with its sentence in their zone."""
    viewer = viewer_for(job=job, user=user)
    if viewer is None:
        return []
    entries = JobTimelineEntry.objects.filter(job_id=job.pk).order_by("sequence", "id")
    return [entry_json(entry, viewer) for entry in entries if visible_to(entry, viewer)]
