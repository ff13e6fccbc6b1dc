"""Pages for signing off the finished work: the panel on the job page (customer) and the lead page
(tradesperson), refetched live on ``payment.*`` pushes, and the customer's approve / report-a-problem forms.

The forms post here and come back to the job page with a message; every refusal is the service's
sentence (``payments/approval.py``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from jobs.views import page_user
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.money import currency_symbol, format_money

from . import approval, selectors
from .models import Payment

S = Payment.Status
SIGNOFF_STATUSES = {S.AWAITING_APPROVAL, S.DISPUTED, S.COMPLETING}


def signoff_context(*, job_id: int, viewer: User) -> dict[str, Any]:
    """What the sign-off panel shows ``viewer``; ``signoff`` is None when there is nothing to sign off (yet)."""
    payment = selectors.payment_for_party(job_id=job_id, viewer=viewer)
    shown = payment is not None and (payment.status in SIGNOFF_STATUSES or payment.approved_at is not None)
    dispute = selectors.dispute_for(payment) if payment is not None else None
    if payment is None or not (shown or dispute is not None):
        return {"signoff": None, "signoff_url": f"/jobs/{job_id}/signoff/"}
    return {
        "signoff": payment,
        "signoff_url": f"/jobs/{job_id}/signoff/",
        "signoff_is_customer": payment.customer_id == viewer.pk,
        "dispute": dispute,
        "tip_limit": approval.tip_limit(payment),
        "window_hours": settings.PAYMENTS["APPROVAL_WINDOW_HOURS"],
        "charge": payment.acceptance.total - payment.reduction + payment.tip,
    }


@login_required
@require_GET
def signoff_fragment(request: HttpRequest, job_id: int) -> HttpResponse:
    """The panel's inside (HTML) for the job's customer or tradesperson, refetched on payment.* pushes."""
    user = page_user(request)
    if selectors.payment_for_party(job_id=job_id, viewer=user) is None:
        raise Http404("No such job.")
    return render(request, "payments/_signoff_body.html", {"job_id": job_id, **signoff_context(job_id=job_id, viewer=user)})


def _back(user: User, payment: Payment) -> HttpResponse:
    """To the page the form was on: the customer's job page, or the tradesperson's lead page."""
    return redirect("job-detail" if user.pk == payment.customer_id else "lead-detail", job_id=payment.job_id)


def _customers_payment(request: HttpRequest, job_id: int) -> tuple[User, Payment]:
    user = page_user(request)
    payment = selectors.payment_for_party(job_id=job_id, viewer=user)
    if payment is None:
        raise Http404("No such job.")
    return user, payment


@login_required
@require_POST
def signoff_approve(request: HttpRequest, job_id: int) -> HttpResponse:
    user, payment = _customers_payment(request, job_id)
    try:
        tip = Decimal((request.POST.get("tip") or "0").strip().lstrip(currency_symbol()) or "0")
    except InvalidOperation:
        messages.error(request, "Enter the tip as an amount in pounds, for example 10 or 7.50, or leave it empty.")
        return _back(user, payment)
    try:
        approval.payment_approve(payment=payment, actor=user, tip=tip)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        thanks = f" Your {format_money(tip)} tip goes to the tradesperson in full." if tip > 0 else ""
        messages.success(request, f"Thank you — you approved the work. We're taking the payment now.{thanks}")
    return _back(user, payment)


@login_required
@require_POST
def signoff_problem(request: HttpRequest, job_id: int) -> HttpResponse:
    user, payment = _customers_payment(request, job_id)
    try:
        approval.payment_dispute(payment=payment, actor=user, description=request.POST.get("description", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "Thanks for telling us. Nothing more is charged while our team looks into it; we'll tell you both the outcome."
        )
    return _back(user, payment)
