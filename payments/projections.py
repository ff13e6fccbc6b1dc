"""Kafka handler for payments: ``PaymentsHandler`` (consumer ``payments``, topic ``marketplace.jobs``)
records when a job's lifecycle says money must move. ``job.status_changed`` to completed asks the
customer to sign off (``payments/approval.py``; nothing is charged); ``payment.approved`` and
``payment.dispute_resolved`` record the intent to collect the price (plus tip, less any refund
agreed); ``job.cancelled`` records the cancellation policy's verdict on the held deposit. It calls
no gateway (the payments executor does, outside this batch: ``payments/executor.py``), so a slow or
absent gateway never holds a partition; a redelivered event finds the payment already completing
or cancelling and records nothing twice.
"""

from __future__ import annotations

from jobs.events import JobCancelledV2, JobStatusChangedV2
from jobs.models import Job
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from tracking.models import Visit

from .approval import payment_request_approval
from .events import PaymentApprovedV1, PaymentDisputeResolvedV1
from .services import payment_cancel, payment_collect


class PaymentsHandler(EventHandler):
    def on_job_status_changed(self, event: Envelope) -> None:
        data = event.payload(JobStatusChangedV2)
        if data["status"] == Job.Status.COMPLETED:
            payment_request_approval(job_id=data["job_id"], completed_at=event.occurred_at)

    def on_payment_approved(self, event: Envelope) -> None:
        payment_collect(job_id=event.payload(PaymentApprovedV1)["job_id"])

    def on_payment_dispute_resolved(self, event: Envelope) -> None:
        payment_collect(job_id=event.payload(PaymentDisputeResolvedV1)["job_id"])

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
