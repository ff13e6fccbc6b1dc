"""Kafka handler for payments: ``PaymentsHandler`` (consumer ``payments``, topic ``marketplace.jobs``)
moves money when a job's lifecycle says so. ``job.status_changed`` to completed collects the price;
``job.cancelled`` applies the cancellation policy to the held deposit. Gateway calls carry
idempotency keys derived from the payment, so a redelivered event moves nothing twice; a gateway
outage raises ``Retryable`` (retried with backoff, never dead-lettered).
"""

from __future__ import annotations

from jobs.models import Job
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler

from .services import payment_cancel, payment_collect


class PaymentsHandler(EventHandler):
    def on_job_status_changed(self, event: Envelope) -> None:
        if event.data["status"] == Job.Status.COMPLETED:
            payment_collect(job_id=event.data["job_id"])

    def on_job_cancelled(self, event: Envelope) -> None:
        job = Job.objects.filter(pk=event.data["job_id"]).only("customer_id").first()
        if job is None:
            return
        by_customer = event.actor_id is None or event.actor_id == job.customer_id
        payment_cancel(job_id=job.pk, cancelled_at=event.occurred_at, by_customer=by_customer)
