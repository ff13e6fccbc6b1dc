"""The quotes app's answers to what happens below it, in the same transaction.

A payment that becomes paid gets its invoice (``invoicing.invoice_issue``) in the transaction
that saves it, through Django's own ``post_save`` signal of ``payments.Payment``: the payments
app needs no hook of its own and never imports this one.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from payments.models import Payment

from . import invoicing


def _payment_saved(sender: type[Payment], instance: Payment, **_: Any) -> None:
    if instance.status == Payment.Status.PAID:
        invoicing.invoice_issue(payment=instance)


def connect() -> None:
    post_save.connect(_payment_saved, sender=Payment, dispatch_uid="quotes.invoice_on_paid")
