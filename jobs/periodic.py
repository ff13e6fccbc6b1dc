"""The jobs app's periodic tasks (run by ``manage.py clock``): expire overdue open jobs, widen the search for the quiet ones,
mark verified credentials past their expiry date expired (their badges drop)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from marketplace.events.periodic import Outcome, PeriodicTask, register

from . import credentials, services
from .models import LIVE_BID_STATUSES, Job


def tick() -> tuple[int, int]:
    """One pass: expire overdue open jobs, open direct requests nobody answered in time to others,
    widen matching for open jobs with no live bid. Idempotent. Returns (expired, widened or opened)."""
    now = timezone.now()
    expired = sum(1 for job in Job.objects.filter(status=Job.Status.OPEN, expires_at__lte=now) if services.job_expire(job=job))
    overdue = Job.objects.filter(status=Job.Status.OPEN, exclusive_until__lte=now, bids__isnull=True)
    opened = sum(1 for job in overdue if services.job_direct_request_open(job=job, reason="no_reply"))
    widen_before = now - timedelta(minutes=settings.MATCHING["WIDEN_AFTER_MINUTES"])
    # Quiet: no bid still in the running (none at all, or every one withdrawn or declined).
    stale = Job.objects.filter(
        status=Job.Status.OPEN,
        updated_at__lte=widen_before,
        match_round__lt=len(settings.MATCHING["RADIUS_FACTORS"]),
        exclusive_until__isnull=True,
    ).exclude(bids__status__in=LIVE_BID_STATUSES)
    widened = sum(1 for job in stale if services.job_widen_search(job=job))
    return expired, widened + opened


def _expire_and_widen() -> Outcome:
    expired, widened = tick()
    return Outcome(expired + widened, f"expired {expired} job(s), widened matching (or opened a direct request) for {widened}")


def _expire_credentials() -> Outcome:
    expired = credentials.credentials_expire_due()
    return Outcome(expired, f"{expired} credential(s) passed their expiry date; their badges dropped")


register(PeriodicTask("jobs.expire_and_widen", _expire_and_widen))
# Each minute: a credential expires at a UK midnight, and its badge should leave open pages soon after.
register(PeriodicTask("jobs.expire_credentials", _expire_credentials, every_s=60))
