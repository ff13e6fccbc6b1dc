"""Read-side queries for jobs. The board reads the read model, never the write model."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.accounts.models import User

from .models import Job, JobBoardEntry


def jobs_for_customer(*, customer: User) -> QuerySet[Job]:
    return Job.objects.filter(customer=customer).select_related("trade")


def job_visible_to(*, user: User, job_id: int) -> bool:
    """A job is visible to its customer, to staff, and to tradespeople while it is on the board."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    if user.is_tradesperson:
        return JobBoardEntry.objects.filter(job_id=job_id).exists()
    return Job.objects.filter(pk=job_id, customer=user).exists()


def board_entries(*, status: str = "open") -> QuerySet[JobBoardEntry]:
    return JobBoardEntry.objects.filter(status=status)
