"""Reads for the sign-off panel: a job's payment for one of its two parties, with its dispute."""

from __future__ import annotations

from django.db.models import Q

from marketplace.accounts.models import User

from .models import Dispute, Payment


def payment_for_party(*, job_id: int, viewer: User) -> Payment | None:
    """The job's payment if ``viewer`` is its customer or its tradesperson; None for anyone else."""
    return (
        Payment.objects.select_related("acceptance")
        .filter(job_id=job_id)
        .filter(Q(customer_id=viewer.pk) | Q(tradesperson_id=viewer.pk))
        .first()
    )


def dispute_for(payment: Payment) -> Dispute | None:
    return Dispute.objects.filter(payment=payment).first()
