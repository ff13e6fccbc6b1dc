"""Scheduling's answers to what jobs signals (``jobs/signals.py``), connected in ``SchedulingConfig.ready()``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jobs import signals
from jobs.models import Job
from marketplace.accounts.models import User

from . import capacity, services


def _profile_saved(sender: Any, *, owner: User, **kwargs: Any) -> None:
    services.business_profile_saved(owner=owner)


def _job_cancelling(sender: Any, *, job: Job, actor: User, side: str, reason: str, **kwargs: Any) -> None:
    # A cancelled job frees its worker's time in the same transaction (scheduling owns the appointment).
    services.appointment_release(job=job, actor=actor, side=side, reason=reason)


def _capacity_asked(sender: Any, *, owner_id: int, window_start: datetime, window_end: datetime, **kwargs: Any) -> bool:
    return capacity.pro_has_capacity(owner_id=owner_id, window_start=window_start, window_end=window_end)


def connect() -> None:
    signals.business_profile_saved.connect(_profile_saved, dispatch_uid="scheduling.profile_saved")
    signals.job_cancelling.connect(_job_cancelling, dispatch_uid="scheduling.job_cancelling")
    signals.capacity_asked.connect(_capacity_asked, dispatch_uid="scheduling.capacity_asked")
