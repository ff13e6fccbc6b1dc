"""Pages for service plans (recurring work): the "Service plans" page both sides share (``/plans/``), the
business's offer from a completed job's lead page and the customer's acceptance from their job page or the
plans page. Each posts to one service in :mod:`quotes.agreements` and says what happened in a sentence."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from jobs import selectors as job_selectors
from jobs.views import page_user
from marketplace.errors import ServiceError

from . import agreements, selectors
from .models import ServiceAgreement
from .views import TEST_CARDS


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back where the form was (the job page, the lead page or the plans page), never off-site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    """Every service plan the user is a side of, with its next due date, its booked visits and what they can do."""
    user = page_user(request)
    plans = list(selectors.plans_for(user=user))
    rows = [(plan, plan.every, list(plan.occurrences.all())[:3]) for plan in plans]
    return render(request, "quotes/plans.html", {"rows": rows, "test_cards": TEST_CARDS})


def _own_plan(request: HttpRequest, plan_id: int) -> ServiceAgreement:
    plan = selectors.plan_for(user=page_user(request), plan_id=plan_id)
    if plan is None:
        raise Http404("No such service plan.")
    return plan


@login_required
@require_POST
def plan_accept(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _own_plan(request, plan_id)
    try:
        plan = agreements.agreement_accept(agreement=plan, actor=page_user(request), card_token=request.POST.get("card_token", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Service plan accepted. Your next {plan.title.lower()} is due on {plan.next_due:%d %b %Y}; "
            "we book it with your tradesperson a few weeks before and tell you the time.",
        )
    return _back(request, "plan-list")


@login_required
@require_POST
def plan_cancel(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _own_plan(request, plan_id)
    declined = plan.status == ServiceAgreement.Status.OFFERED and plan.customer_id == request.user.pk
    try:
        agreements.agreement_cancel(agreement=plan, actor=page_user(request))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Service plan declined." if declined else "Service plan cancelled: no more visits will be booked.")
    return _back(request, "plan-list")


@login_required
@require_POST
def plan_offer(request: HttpRequest, job_id: int) -> HttpResponse:
    """The business offers the customer of a completed job a plan (price and interval from the form)."""
    user = page_user(request)
    job = job_selectors.job_for_viewer(user=user, job_id=job_id)
    if job is None:
        raise Http404("No such job.")
    try:
        price = Decimal(request.POST.get("price", "").strip().lstrip("£"))
        months = int(request.POST.get("interval_months", "") or 0)
    except (InvalidOperation, ValueError):
        messages.error(request, "Enter the price of each visit in pounds (for example 85.00) and how many months apart.")
        return redirect("lead-detail", job_id=job_id)
    try:
        plan = agreements.agreement_offer(job=job, actor=user, price=price, interval_months=months or None)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Service plan offered. The customer is asked to accept it; the first visit would be due on {plan.next_due:%d %b %Y}."
        )
    return redirect("lead-detail", job_id=job_id)
