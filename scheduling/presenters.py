"""What the job page's "Must happen after…" section shows: one shape, built once from the selectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from jobs.models import Job

from . import selectors


@dataclass(frozen=True)
class LinkRow:
    job_id: int
    title: str
    when: str  # the booked time in the viewer's zone, or a sentence saying there is none
    removable: bool  # the customer may still unlink it (both ends are still to be done)


def _when(linked: selectors.LinkedJob, zone: str) -> str:
    if linked.job.status in selectors.SETTLED_STATUSES:
        return linked.job.get_status_display()
    if linked.starts_at is None or linked.ends_at is None:
        return "Not scheduled yet"
    tz = ZoneInfo(zone)
    return f"{linked.starts_at.astimezone(tz):%a %d %b, %H:%M}–{linked.ends_at.astimezone(tz):%H:%M}"


def dependency_panel(*, job: Job, zone: str) -> dict[str, Any]:
    """The section's data for the job's customer: the jobs this one comes after, those that come after it, and the choices.

    ``can_add`` is False once the job is under way or closed (the service would refuse); the
    section is then shown only if links exist.
    """
    links = selectors.job_links(job_id=job.pk)
    open_job = job.status in selectors.LINKABLE_STATUSES
    prerequisites = [LinkRow(item.job.pk, item.job.title, _when(item, zone), removable=open_job) for item in links.prerequisites]
    dependents = [
        LinkRow(item.job.pk, item.job.title, _when(item, zone), removable=item.job.status in selectors.LINKABLE_STATUSES)
        for item in links.dependents
    ]
    candidates = selectors.prerequisite_candidates(job=job) if open_job else []
    return {
        "show": open_job or bool(prerequisites or dependents),
        "can_add": open_job and bool(candidates),
        "candidates": candidates,
        "prerequisites": prerequisites,
        "dependents": dependents,
    }
