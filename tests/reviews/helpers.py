"""Builders for review tests: completed jobs and reviews through the real services."""

from __future__ import annotations

from typing import Any

from jobs.models import Job
from jobs.services import job_complete, job_start_work
from marketplace.accounts.models import User
from reviews.models import Review
from reviews.services import review_post
from tests.scheduling.helpers import awarded_job

ASPECTS_4 = {"punctuality": 4, "quality": 4, "value": 4, "communication": 4}


def completed_job(customer: User, pro_user: User, **kw: Any) -> Job:
    job = awarded_job(customer, pro_user, **kw)
    job_start_work(job=job, actor=pro_user)
    job_complete(job=job, actor=pro_user)
    return Job.objects.get(pk=job.pk)


def review(job: Job, customer: User, rating: int = 4, aspects: dict[str, int] | None = None, comment: str = "Good job") -> Review:
    return review_post(job=job, customer=customer, rating=rating, aspects=aspects or ASPECTS_4, comment=comment)
