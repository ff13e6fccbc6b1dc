"""Account context for alerts: who the customer is (jobs, account age), who the tradesperson is, what the job is.

Each function is one query and returns plain JSON (stored in ``Alert.context``, so the inbox and
the webhook show the context as it was when the alert was raised, not as it is later).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from jobs.models import Job
from marketplace.accounts.models import User


def customer_context(customer_id: int | None) -> dict[str, Any] | None:
    """The customer's name, email, account age and job counts (None if there is no such user)."""
    if customer_id is None:
        return None
    user = (
        User.objects.filter(pk=customer_id)
        .annotate(
            jobs_posted=Count("jobs"),
            jobs_completed=Count("jobs", filter=Q(jobs__status=Job.Status.COMPLETED)),
            jobs_cancelled=Count("jobs", filter=Q(jobs__status=Job.Status.CANCELLED)),
        )
        .first()
    )
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.display_name or user.get_full_name() or user.username,
        "email": user.email,
        "joined": user.date_joined.isoformat(),
        "account_age_days": (timezone.now() - user.date_joined).days,
        "jobs_posted": user.jobs_posted,
        "jobs_completed": user.jobs_completed,
        "jobs_cancelled": user.jobs_cancelled,
    }


def tradesperson_context(user_id: int | None) -> dict[str, Any] | None:
    """The tradesperson's name and business (None if there is no such user)."""
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).select_related("pro_profile").first()
    if user is None:
        return None
    profile = getattr(user, "pro_profile", None)
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.display_name or user.get_full_name() or user.username,
        "business_name": profile.business_name if profile is not None else "",
        "email": user.email,
    }


def job_context(job_id: int | None) -> dict[str, Any] | None:
    """The job's title, trade, status, place and budget (None if there is no such job)."""
    if job_id is None:
        return None
    job = Job.objects.filter(pk=job_id).select_related("trade").first()
    if job is None:
        return None
    return {
        "id": job.pk,
        "title": job.title,
        "trade": job.trade.name,
        "status": job.status,
        "place": job.place,
        "budget_min": str(job.budget_min),
        "budget_max": str(job.budget_max),
        "customer_id": job.customer_id,
        "posted_at": job.created_at.isoformat(),
    }
