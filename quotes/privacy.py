"""What the quotes app holds about a person (registered with marketplace.privacy): quote notes and lines a
tradesperson wrote, promo codes used, invoices (issued to or by them) and service plans (either side).

Invoices are tax records: the number, dates, amounts, lines and the supplier's VAT details stay for HMRC.
On erasure the customer's name and address on an invoice become the account's pseudonym: the platform's
copy keeps the facts, the person's identity goes (the tradesperson's own copy, emailed at issue, is theirs).
Service plans of an erased person (either side) are cancelled, so no visit is booked again; the place and the
card's token go, the coordinates are kept only to about a kilometre (as the jobs app keeps a job's).
The supplier on an invoice a tradesperson issued stays (name, address, VAT number): it is the tax record of
their own sales, which they and we must keep for six years; purging invoices after that is not built yet.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import Invoice, InvoiceEmail, QuoteVersion, ServiceAgreement


def _export(user: User) -> dict[str, Any]:
    invoice_fields = ("number", "issued_at", "tax_point", "supplier_name", "customer_name", "customer_address", "job_title", "lines")
    return {
        "invoices_received": list(Invoice.objects.filter(customer=user).values(*invoice_fields)),
        "invoices_issued": list(Invoice.objects.filter(supplier=user).values(*invoice_fields)),
        "quote_notes": list(QuoteVersion.objects.filter(bid__tradesperson=user).exclude(notes="").values("id", "notes")),
        "service_plans": list(
            ServiceAgreement.objects.filter(Q(customer=user) | Q(pro=user)).values(
                "id", "title", "price", "interval_months", "next_due", "place", "status", "created_at"
            )
        ),
    }


def _erase(user: User, erasure: Erasure) -> None:
    received = Invoice.objects.filter(customer=user)
    for name, address in received.values_list("customer_name", "customer_address"):
        erasure.identifies(name, address)
    received.update(customer_name=erasure.pseudonym, customer_address="", job_title=REMOVED)
    InvoiceEmail.objects.filter(invoice__customer=user).update(to="")
    notes = QuoteVersion.objects.filter(bid__tradesperson=user).exclude(notes="")
    erasure.removed(*notes.values_list("notes", flat=True))
    notes.update(notes=REMOVED)
    for plan in ServiceAgreement.objects.filter(Q(customer=user) | Q(pro=user)):
        erasure.removed(plan.place)
        if plan.status != ServiceAgreement.Status.CANCELLED:
            plan.status, plan.cancelled_at, plan.cancelled_by = ServiceAgreement.Status.CANCELLED, timezone.now(), user
        plan.latitude, plan.longitude = round(plan.latitude, 2), round(plan.longitude, 2)
        plan.place, plan.card_token = "", ""
        plan.save(update_fields=["status", "cancelled_at", "cancelled_by", "latitude", "longitude", "place", "card_token", "updated_at"])


register(PersonalData("quotes", export=_export, erase=_erase))
