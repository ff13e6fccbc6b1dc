"""Kafka handler for payments: ``PaymentsHandler`` (consumer ``payments``, topic ``marketplace.jobs``)
moves money when a job's lifecycle says so. ``job.status_changed`` to completed collects the price;
``job.cancelled`` applies the cancellation policy to the held deposit. Gateway calls carry
idempotency keys derived from the payment, so a redelivered event moves nothing twice; a gateway
outage raises ``Retryable`` (retried with backoff, never dead-lettered).
"""

from __future__ import annotations

from jobs.events import JobCancelledV2, JobStatusChangedV2
from jobs.models import Job
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from tracking.models import Visit

from .services import payment_cancel, payment_collect


class PaymentsHandler(EventHandler):
    def on_job_status_changed(self, event: Envelope) -> None:
        data = event.payload(JobStatusChangedV2)
        if data["status"] == Job.Status.COMPLETED:
            payment_collect(job_id=data["job_id"])

    def on_job_cancelled(self, event: Envelope) -> None:
        data = event.payload(JobCancelledV2)
        # v2 names the customer; for a v1 event (emitted before it) read the job. No job, no
        # payment (it belongs to the job), so payment_cancel then does nothing.
        customer_id = data.get("customer_id")
        if customer_id is None:
            customer_id = Job.objects.filter(pk=data["job_id"]).values_list("customer_id", flat=True).first()
        by_customer = event.actor_id is None or event.actor_id == customer_id
        # The tradesperson reported the customer absent (tracking.services.visit_customer_absent): a call-out fee.
        absent = Visit.objects.filter(job_id=data["job_id"], customer_absent_at__isnull=False).exists()
        payment_cancel(job_id=data["job_id"], cancelled_at=event.occurred_at, by_customer=by_customer, customer_no_show=absent)
