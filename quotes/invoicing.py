"""Issuing a job's invoice and emailing it: the only code that writes ``Invoice`` rows.

An invoice is issued once per job, when its payment first becomes paid (the balance charged
once the work is done): :func:`invoice_issue` runs inside the transaction that saves the paid
payment (``quotes.receivers``, on the payment's ``post_save``), so the invoice exists exactly
when the payment is paid and never without it.

Numbering: each trade business issues its own invoices (TradeLink collects the money on its
behalf), so each has its own series, ``<prefix><business id>-<n>`` with n = 1, 2, 3 ... The
business's :class:`~quotes.models.InvoiceSequence` row is locked (``SELECT ... FOR UPDATE``) and
incremented in the same transaction as the invoice insert: a rolled-back transaction rolls the
counter back too, so there are no gaps, and concurrent issues for one business queue on the row
lock, so there are no duplicates (a unique constraint backs this up).

Email: the customer gets the invoice with its PDF attached. The :class:`~quotes.models.InvoiceEmail`
row is written with the invoice; the send happens after commit (never inside the transaction or
while the consumer's batch holds it) through ``marketplace.deliveries``; a failure is retried by
the clock (``quotes.periodic``) with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, TradespersonProfile
from marketplace import deliveries
from marketplace.accounts.models import User
from payments.models import Payment

from .invoice_pdf import invoice_pdf
from .models import Invoice, InvoiceEmail, InvoiceSequence, QuoteAcceptance, QuoteLine

log = logging.getLogger(__name__)


def gateway_display_name(code: str) -> str:
    """The payment processor as a person reads it (settings ``PAYMENTS['GATEWAY_DISPLAY_NAMES']``)."""
    names: dict[str, str] = settings.PAYMENTS.get("GATEWAY_DISPLAY_NAMES", {})
    return names.get(code) or (code.replace("_", " ").replace("-", " ").title() if code else "our payment provider")


def _next_number(supplier_id: int) -> int:
    """Lock the supplier's counter row and take the next number (the caller's transaction holds the lock)."""
    InvoiceSequence.objects.bulk_create([InvoiceSequence(supplier_id=supplier_id)], ignore_conflicts=True)
    sequence = InvoiceSequence.objects.select_for_update().get(supplier_id=supplier_id)
    sequence.last_number = F("last_number") + 1
    sequence.save(update_fields=["last_number"])
    sequence.refresh_from_db(fields=["last_number"])
    return sequence.last_number


def format_number(supplier_id: int, sequence_number: int) -> str:
    return f"{settings.INVOICES['NUMBER_PREFIX']}{supplier_id}-{sequence_number:05d}"


def _lines(acceptance: QuoteAcceptance) -> list[dict[str, object]]:
    return [
        {
            "description": line.description,
            "kind": line.get_kind_display(),
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "amount": str(line.amount),
            "is_discount": line.kind == QuoteLine.Kind.DISCOUNT,
        }
        for line in acceptance.option.lines.order_by("position")
    ]


def _promo_funder(acceptance: QuoteAcceptance) -> str:
    """Who paid for the promo, as the acceptance froze it (an acceptance from before funders were recorded: the platform)."""
    if not acceptance.promo_code or not acceptance.promo_amount:
        return Invoice.PromoFunder.NONE
    if acceptance.promo_funded_by == "business":  # the tradesperson's own code
        return Invoice.PromoFunder.TRADESPERSON
    return Invoice.PromoFunder.PLATFORM


def _job_address(job: Job) -> str:
    return job.place or f"{job.latitude}, {job.longitude}"


def invoice_due(payment: Payment) -> bool:
    """Whether the work was charged for: paid in full, or in part after a dispute (a cancellation fee gets a receipt instead)."""
    charged = payment.status in (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED)
    return charged and payment.captured > 0 and payment.cancellation_fee == 0


def invoice_issue(*, payment: Payment, now: datetime | None = None) -> Invoice | None:
    """Issue the job's invoice if its payment is paid and it has none yet; returns it (None when not due).

    Idempotent: a second call returns the existing invoice. Must run in a transaction (it locks
    the supplier's counter); the email is sent after that transaction commits.
    """
    if not invoice_due(payment):
        return None
    existing = Invoice.objects.filter(job_id=payment.job_id).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    with transaction.atomic():
        acceptance = QuoteAcceptance.objects.select_related("customer", "job", "option").get(pk=payment.acceptance_id)
        profile = TradespersonProfile.objects.filter(user_id=payment.tradesperson_id).first()
        supplier = User.objects.get(pk=payment.tradesperson_id)
        # Registered if VAT was charged (the frozen contract says so) or the business says it is.
        registered = acceptance.tax > 0 or bool(profile and profile.vat_registered)
        sequence_number = _next_number(payment.tradesperson_id)
        paid_at = payment.settled_at or now
        invoice = Invoice.objects.create(
            job_id=payment.job_id,
            payment=payment,
            supplier_id=payment.tradesperson_id,
            customer_id=payment.customer_id,
            sequence_number=sequence_number,
            number=format_number(payment.tradesperson_id, sequence_number),
            issued_at=now,
            tax_point=paid_at.astimezone(UTC).date(),
            supplier_name=(profile.invoice_name if profile else str(supplier))[:160],
            supplier_address=profile.business_address if profile else "",
            supplier_vat_registered=registered,
            supplier_vat_number=profile.vat_number if (profile and registered) else "",
            customer_name=str(acceptance.customer)[:160],
            customer_address=_job_address(acceptance.job),
            job_title=acceptance.job.title,
            lines=_lines(acceptance),
            currency=payment.currency,
            subtotal=acceptance.subtotal,
            discounts=acceptance.discounts_total - acceptance.promo_amount,
            promo_code=acceptance.promo_code,
            promo_amount=acceptance.promo_amount,
            promo_funded_by=_promo_funder(acceptance),
            net=acceptance.net,
            vat_rate=acceptance.tax_rate if registered else Decimal("0"),
            vat=acceptance.tax,
            total=acceptance.total,
            amount_paid=payment.captured,
            gateway_name=gateway_display_name(payment.gateway)[:80],
        )
        customer_email = acceptance.customer.email
        if customer_email:
            email = InvoiceEmail.objects.create(invoice=invoice, to=customer_email)
            transaction.on_commit(lambda: invoice_emails_send(email_ids=[email.pk]))
    return invoice


# --- the email ----------------------------------------------------------------------------------


def _policy() -> deliveries.RetryPolicy:
    conf = settings.INVOICES
    return deliveries.RetryPolicy(max_attempts=conf["EMAIL_MAX_ATTEMPTS"], retry_base_s=conf["EMAIL_RETRY_BASE_S"])


def _send(row: InvoiceEmail) -> None:
    invoice = row.invoice
    site = settings.NOTIFICATIONS["SITE_URL"].rstrip("/")
    context = {
        "invoice": invoice,
        "link": site + reverse("job-invoice", args=[invoice.job_id]),
        "site_url": site,
    }
    subject = f"Your invoice {invoice.number} from {invoice.supplier_name}"[:150]
    text = render_to_string("emails/invoice.txt", context)
    html = render_to_string("emails/invoice.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [row.to])
    message.attach_alternative(html, "text/html")
    message.attach(f"invoice-{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf")
    message.extra_headers["X-Invoice-Number"] = invoice.number
    message.send(fail_silently=False)


def invoice_emails_send(*, email_ids: Iterable[int]) -> int:
    """Send these invoice emails if pending and due; returns how many went. Call outside a transaction."""
    return deliveries.send_due(
        InvoiceEmail,
        email_ids,
        send=_send,
        policy=_policy(),
        describe=lambda row: f"invoice {row.invoice_id}: email",
        related=("invoice",),
    )


def invoice_emails_send_pending(*, limit: int = 200) -> int:
    """The clock's retry pass: emails whose sender died go back to pending, then what is due is sent."""
    ids = deliveries.due_ids(InvoiceEmail, lease_s=settings.INVOICES["EMAIL_CLAIM_LEASE_S"], limit=limit)
    return invoice_emails_send(email_ids=ids)
