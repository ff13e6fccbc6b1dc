"""The invoice / receipt page of a job, ``/jobs/<job_id>/invoice/``, and its PDF, ``/jobs/<job_id>/invoice.pdf``.

A paid job has an issued :class:`~quotes.models.Invoice` (``quotes.invoicing``): the page and the
PDF show its frozen facts (number, tax point, supplier and customer names and addresses, VAT
number or "not VAT registered", lines, VAT breakdown); refunds made since are listed below it
as credits, from the payment's succeeded gateway operations. A job cancelled with a fee gets a
cancellation receipt from the frozen contract (:class:`~quotes.models.QuoteAcceptance`) instead.
Nothing is re-priced here. Visible to the job's customer, the tradesperson it was awarded to and
staff; anyone else gets a 404 (as if the job did not exist). Before money was kept (or for a
free cancellation) the page answers 200 with a "no invoice yet" message saying why, and the
PDF answers 404.
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
from quotes.models import Invoice, QuoteAcceptance, QuoteLine

from . import selectors
from .invoice_pdf import invoice_pdf
from .invoicing import gateway_display_name

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


def receipt_number(payment: Payment) -> str:
    """A cancellation receipt's reference (not a VAT invoice: no supply was made)."""
    return f"R-{payment.job_id}-{payment.pk}"


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


def _viewable_job(request: HttpRequest, job_id: int) -> tuple[User, Job, JobRole | None]:
    viewer = request.user
    if not isinstance(viewer, User):
        raise PermissionDenied("Log in first.")
    job = get_object_or_404(Job.objects.select_related("customer"), pk=job_id)
    role = job_role(viewer, job)
    if not (viewer.is_staff or role in PARTIES):
        raise Http404("No such job.")
    return viewer, job, role


def _refunds(payment: Payment) -> tuple[list[Refund], dict[str, Decimal]]:
    operations = list(selectors.payment_operations(payment=payment).filter(status=PaymentOperation.Status.SUCCEEDED))
    captured = {kind: sum((op.amount for op in operations if op.kind == kind), start=ZERO) for kind in PaymentOperation.Kind.values}
    refunds = [
        Refund(op.completed_at or op.created_at, op.amount, op.reason) for op in operations if op.kind == PaymentOperation.Kind.REFUND
    ]
    return refunds, captured


def _invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return [
        InvoiceLine(
            description=str(line["description"]),
            kind=str(line["kind"]),
            quantity=Decimal(str(line["quantity"])),
            unit_price=Decimal(str(line["unit_price"])),
            amount=Decimal(str(line["amount"])),
            is_discount=bool(line.get("is_discount")),
        )
        for line in invoice.lines
    ]


@login_required
@require_GET
def job_invoice(request: HttpRequest, job_id: int) -> HttpResponse:
    viewer, job, role = _viewable_job(request, job_id)
    acceptance = selectors.acceptance_for_job(job=job, viewer=viewer)
    payment = selectors.payment_for_job(job=job, viewer=viewer)
    context: dict[str, object] = {"job": job, "acceptance": acceptance, "payment": payment}
    invoice = Invoice.objects.filter(job=job).first() if payment is not None else None
    show_payout = role is JobRole.TRADESPERSON or viewer.is_staff
    if invoice is not None and payment is not None:
        refunds, _ = _refunds(payment)
        context.update(
            {
                "invoice": invoice,
                "number": invoice.number,
                "lines": _invoice_lines(invoice),
                "vat_percent": (invoice.vat_rate * 100).normalize(),
                "refunds": refunds,
                "amount_kept": payment.kept,
                "show_payout": show_payout,
                "platform_fee_percent": (acceptance.platform_fee_rate * 100).normalize() if acceptance else None,
                "payout": payment.payout_paid + payment.payout_due,
                "gateway_name": invoice.gateway_name or gateway_display_name(payment.gateway),
            }
        )
        return render(request, "quotes/invoice.html", context)
    if acceptance is None or payment is None or not has_invoice(payment):
        context["reason"] = _not_yet_reason(acceptance, payment)
        return render(request, "quotes/invoice.html", context)

    # A receipt for money kept without an issued invoice: a cancellation fee.
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
    refunds, captured = _refunds(payment)
    cancelled = payment.status == Payment.Status.CANCELLED
    context.update(
        {
            "number": receipt_number(payment),
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
            "show_payout": show_payout,
            "payout": payment.payout_paid + payment.payout_due,
            "gateway_name": gateway_display_name(payment.gateway),
        }
    )
    return render(request, "quotes/invoice.html", context)


@login_required
@require_GET
def job_invoice_pdf(request: HttpRequest, job_id: int) -> HttpResponse:
    """The issued invoice as a PDF download; 404 when the job has none (yet) or the viewer may not see it."""
    _, job, _ = _viewable_job(request, job_id)
    invoice = Invoice.objects.filter(job=job).first()
    if invoice is None:
        raise Http404("No invoice for this job yet.")
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
