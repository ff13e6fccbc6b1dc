"""The jobs app's periodic task (run by ``manage.py clock``): expire overdue open jobs, widen the search for the quiet ones."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from marketplace.events.periodic import Outcome, PeriodicTask, register

from . import services
from .models import Job


def tick() -> tuple[int, int]:
    """One pass: expire overdue open jobs, open direct requests nobody answered in time to others,
    widen matching for open jobs with no bid. Idempotent. Returns (expired, widened or opened)."""
    now = timezone.now()
    expired = sum(1 for job in Job.objects.filter(status=Job.Status.OPEN, expires_at__lte=now) if services.job_expire(job=job))
    overdue = Job.objects.filter(status=Job.Status.OPEN, exclusive_until__lte=now, bids__isnull=True)
    opened = sum(1 for job in overdue if services.job_direct_request_open(job=job, reason="no_reply"))
    widen_before = now - timedelta(minutes=settings.MATCHING["WIDEN_AFTER_MINUTES"])
    stale = Job.objects.filter(
        status=Job.Status.OPEN,
        bids__isnull=True,
        updated_at__lte=widen_before,
        match_round__lt=len(settings.MATCHING["RADIUS_FACTORS"]),
        exclusive_until__isnull=True,
    )
    widened = sum(1 for job in stale if services.job_widen_search(job=job))
    return expired, widened + opened


def _expire_and_widen() -> Outcome:
    expired, widened = tick()
    return Outcome(expired + widened, f"expired {expired} job(s), widened matching (or opened a direct request) for {widened}")


register(PeriodicTask("jobs.expire_and_widen", _expire_and_widen))
