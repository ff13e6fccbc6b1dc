"""What the quotes app holds about a person (registered with marketplace.privacy): quote notes and lines a
tradesperson wrote, promo codes used, and invoices (issued to or by them).

Invoices are tax records: the number, dates, amounts, lines and the supplier's VAT details stay for HMRC.
On erasure the customer's name and address on an invoice become the account's pseudonym: the platform's
copy keeps the facts, the person's identity goes (the tradesperson's own copy, emailed at issue, is theirs).
The supplier on an invoice a tradesperson issued stays (name, address, VAT number): it is the tax record of
their own sales, which they and we must keep for six years; purging invoices after that is not built yet.
"""

from __future__ import annotations

from typing import Any

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import Invoice, InvoiceEmail, QuoteVersion


def _export(user: User) -> dict[str, Any]:
    invoice_fields = ("number", "issued_at", "tax_point", "supplier_name", "customer_name", "customer_address", "job_title", "lines")
    return {
        "invoices_received": list(Invoice.objects.filter(customer=user).values(*invoice_fields)),
        "invoices_issued": list(Invoice.objects.filter(supplier=user).values(*invoice_fields)),
        "quote_notes": list(QuoteVersion.objects.filter(bid__tradesperson=user).exclude(notes="").values("id", "notes")),
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


register(PersonalData("quotes", export=_export, erase=_erase))
