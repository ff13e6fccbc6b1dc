"""The only code that changes jobs. Each service writes its rows and its events in one transaction."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from marketplace.accounts.models import User
from marketplace.api_errors import ServiceError
from marketplace.events.outbox import emit

from .events import JOB_CANCELLED, JOB_POSTED
from .models import Job, Trade


def _job_snapshot(job: Job) -> dict[str, object]:
    return {
        "job_id": job.pk,
        "customer_id": job.customer_id,
        "trade": {"slug": job.trade.slug, "name": job.trade.name},
        "title": job.title,
        "description": job.description,
        "latitude": str(job.latitude),
        "longitude": str(job.longitude),
        "place": job.place,
        "budget_min": str(job.budget_min),
        "budget_max": str(job.budget_max),
        "is_emergency": job.is_emergency,
        "status": job.status,
        "posted_at": job.created_at.isoformat(),
    }


def job_post(
    *,
    customer: User,
    trade: Trade,
    title: str,
    description: str,
    latitude: Decimal,
    longitude: Decimal,
    place: str = "",
    budget_min: Decimal = Decimal("0"),
    budget_max: Decimal = Decimal("0"),
    is_emergency: bool = False,
    idempotency_key: str = "",
) -> tuple[Job, bool]:
    """Post a job and emit ``job.posted``.

    Idempotent per (customer, idempotency_key): a repeated key returns the job the
    first request created and ``created=False``, emitting nothing.
    """
    if not customer.is_customer:
        raise ServiceError("Only customers can post jobs.", code="not_a_customer", status_code=403)
    if idempotency_key:
        existing = Job.objects.filter(customer=customer, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                customer=customer,
                trade=trade,
                title=title,
                description=description,
                latitude=latitude,
                longitude=longitude,
                place=place,
                budget_min=budget_min,
                budget_max=budget_max,
                is_emergency=is_emergency,
                idempotency_key=idempotency_key,
            )
            emit(JOB_POSTED, aggregate_id=job.pk, data=_job_snapshot(job), actor_id=customer.pk)
    except IntegrityError:
        # Two requests with the same key raced; the other one won.
        existing = Job.objects.filter(customer=customer, idempotency_key=idempotency_key).first()
        if idempotency_key and existing:
            return existing, False
        raise
    return job, True


def job_cancel(*, job: Job, actor: User, reason: str = "") -> Job:
    """Cancel an open job and emit ``job.cancelled``; only its customer may."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.customer_id != actor.pk:
            raise ServiceError("Only the customer who posted this job can cancel it.", code="forbidden", status_code=403)
        if job.status != Job.Status.OPEN:
            raise ServiceError(f"A job that is {job.get_status_display().lower()} cannot be cancelled.", code="illegal_transition")
        job.status = Job.Status.CANCELLED
        job.save(update_fields=["status", "updated_at"])
        emit(JOB_CANCELLED, aggregate_id=job.pk, data={"job_id": job.pk, "status": job.status, "reason": reason[:500]}, actor_id=actor.pk)
    return job
