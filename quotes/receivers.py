"""The quotes app's answers to what happens below it, in the same transaction (connected in ``QuotesConfig.ready()``).

- A job being cancelled (``jobs/signals.py``): a job cancelled before payment gives the customer's
  promo use back.
- A payment that becomes paid (in full, or in part after a dispute) gets its invoice (``invoicing.invoice_issue``) in the transaction
  that saves it, through Django's own ``post_save`` signal of ``payments.Payment``: the payments
  app needs no hook of its own and never imports this one.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from jobs import signals
from jobs.models import Job
from payments.models import Payment

from . import invoicing
from .promos import promo_release_for_job


def _job_cancelling(sender: Any, *, job: Job, **kwargs: Any) -> None:
    # A job cancelled before payment gives the customer's promo use back, in the cancellation's transaction.
    promo_release_for_job(job_id=job.pk)


def _payment_saved(sender: type[Payment], instance: Payment, **_: Any) -> None:
    if invoicing.invoice_due(instance):
        invoicing.invoice_issue(payment=instance)


def connect() -> None:
    signals.job_cancelling.connect(_job_cancelling, dispatch_uid="quotes.job_cancelling")
    post_save.connect(_payment_saved, sender=Payment, dispatch_uid="quotes.invoice_on_paid")
