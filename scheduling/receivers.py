"""Scheduling's answers to what jobs signals (``jobs/signals.py``), connected in ``SchedulingConfig.ready()``."""

from __future__ import annotations

from typing import Any

from jobs import signals
from jobs.models import Job
from marketplace.accounts.models import User

from . import services


def _profile_saved(sender: Any, *, owner: User, **kwargs: Any) -> None:
    services.business_profile_saved(owner=owner)


def _job_cancelling(sender: Any, *, job: Job, actor: User, side: str, reason: str, **kwargs: Any) -> None:
    # A cancelled job frees its worker's time in the same transaction (scheduling owns the appointment).
    services.appointment_release(job=job, actor=actor, side=side, reason=reason)


def connect() -> None:
    signals.business_profile_saved.connect(_profile_saved, dispatch_uid="scheduling.profile_saved")
    signals.job_cancelling.connect(_job_cancelling, dispatch_uid="scheduling.job_cancelling")
