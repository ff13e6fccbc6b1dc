"""The invoice / receipt page of a job: ``/jobs/<job_id>/invoice/``.

Every figure comes from the frozen contract (:class:`~quotes.models.QuoteAcceptance`) and the
:class:`~quotes.models.Payment` with its succeeded gateway operations; nothing is re-priced here.
Visible to the job's customer, the tradesperson it was awarded to and staff; anyone else gets a
404 (as if the job did not exist). An invoice exists once money was kept: the payment is paid,
partly or fully refunded, or cancelled with a fee. Before that (or for a free cancellation) the
page answers 200 with a "no invoice yet" message saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from jobs.models import Job, TradespersonProfile
from jobs.roles import PARTIES, JobRole, job_role
from marketplace.accounts.models import User
from payments.models import Payment, PaymentOperation
from quotes.models import QuoteAcceptance, QuoteLine

from . import selectors

INVOICED_STATUSES = (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.REFUNDED)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    kind: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # as quoted: a discount line's amount is positive and taken off
    is_discount: bool


@dataclass(frozen=True)
class Refund:
    at: datetime | None
    amount: Decimal
    reason: str


def invoice_number(payment: Payment) -> str:
    return f"INV-{payment.job_id}-{payment.pk}"


def has_invoice(payment: Payment | None) -> bool:
    """True once the customer was charged something that stays charged or was refunded (an invoice or receipt is due)."""
    if payment is None:
        return False
    if payment.status == Payment.Status.CANCELLED:
        return payment.cancellation_fee > 0
    return payment.status in INVOICED_STATUSES


def _business_name(user: User) -> str:
    profile = TradespersonProfile.objects.filter(user=user).only("business_name").first()
    return profile.business_name if profile and profile.business_name else str(user)


def _not_yet_reason(acceptance: QuoteAcceptance | None, payment: Payment | None) -> str:
    if acceptance is None or payment is None:
        return "No quote has been accepted for this job yet, so there is nothing to invoice."
    if payment.status == Payment.Status.CANCELLED:
        return "The job was cancelled without a fee: the deposit hold was released and nothing was charged."
    if payment.status == Payment.Status.BALANCE_FAILED:
        return "The balance payment did not go through; the invoice appears once the job is paid."
    if payment.status == Payment.Status.CANCELLING:
        return "The cancellation is being processed; check back in a moment."
    return "The deposit is held on the card; the invoice appears once the job is completed and paid."


@login_required
@require_GET
def job_invoice(request: HttpRequest, job_id: int) -> HttpResponse:
    viewer = request.user
    if not isinstance(viewer, User):
        raise PermissionDenied("Log in first.")
    job = get_object_or_404(Job.objects.select_related("customer"), pk=job_id)
    acceptance = selectors.acceptance_for_job(job=job, viewer=viewer)
    role = job_role(viewer, job)
    if not (viewer.is_staff or role in PARTIES):
        raise Http404("No such job.")
    payment = selectors.payment_for_job(job=job, viewer=viewer)
    context: dict[str, object] = {"job": job, "acceptance": acceptance, "payment": payment}
    if acceptance is None or payment is None or not has_invoice(payment):
        context["reason"] = _not_yet_reason(acceptance, payment)
        return render(request, "quotes/invoice.html", context)

    lines = [
        InvoiceLine(
            description=line.description,
            kind=line.get_kind_display(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            is_discount=line.kind == QuoteLine.Kind.DISCOUNT,
        )
        for line in acceptance.option.lines.order_by("position")
    ]
    operations = list(selectors.payment_operations(payment=payment).filter(status=PaymentOperation.Status.SUCCEEDED))
    captured = {kind: sum((op.amount for op in operations if op.kind == kind), start=ZERO) for kind in PaymentOperation.Kind.values}
    refunds = [
        Refund(op.completed_at or op.created_at, op.amount, op.reason) for op in operations if op.kind == PaymentOperation.Kind.REFUND
    ]
    cancelled = payment.status == Payment.Status.CANCELLED
    context.update(
        {
            "number": invoice_number(payment),
            "issued_at": payment.settled_at or payment.updated_at,
            "customer_name": str(acceptance.customer),
            "tradesperson_name": _business_name(acceptance.tradesperson),
            "lines": lines,
            "quote_discounts": acceptance.discounts_total - acceptance.promo_amount,
            "tax_percent": (acceptance.tax_rate * 100).normalize(),
            "platform_fee_percent": (acceptance.platform_fee_rate * 100).normalize(),
            "cancelled": cancelled,
            "deposit_taken": ZERO if cancelled else captured[PaymentOperation.Kind.CAPTURE_DEPOSIT],
            "balance_taken": captured[PaymentOperation.Kind.CAPTURE_BALANCE],
            "refunds": refunds,
            "amount_paid": payment.kept,
            "show_payout": role is JobRole.TRADESPERSON or viewer.is_staff,
            "payout": payment.payout_paid + payment.payout_due,
        }
    )
    return render(request, "quotes/invoice.html", context)
