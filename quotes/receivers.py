"""Quotes' answers to what jobs signals (``jobs/signals.py``), connected in ``QuotesConfig.ready()``."""

from __future__ import annotations

from typing import Any

from jobs import signals
from jobs.models import Job

from .promos import promo_release_for_job


def _job_cancelling(sender: Any, *, job: Job, **kwargs: Any) -> None:
    # A job cancelled before payment gives the customer's promo use back, in the cancellation's transaction.
    promo_release_for_job(job_id=job.pk)


def connect() -> None:
    signals.job_cancelling.connect(_job_cancelling, dispatch_uid="quotes.job_cancelling")
