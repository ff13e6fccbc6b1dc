"""Pages for fixed-price services: the tradesperson's list (add, edit, hide) and the customer's booking page
(pick a free time, say where, pay the deposit with the simulated gateway's test card)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.views.decorators.http import require_POST

from jobs import places
from jobs import selectors as job_selectors
from jobs.views import page_user
from marketplace.accounts.models import User
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError

from . import offerings, selectors
from .forms import BookingForm, ServiceOfferingForm, duration_label
from .models import ServiceOffering
from .views import TEST_CARDS

# Which form field a refusal of offering_save / service_book belongs to.
_FIELDS = {
    "price_not_exact": "price",
    "bad_amount": "price",
    "bad_duration": "duration_minutes",
    "not_your_trade": "trade",
    "bad_title": "title",
    "card_declined": "card_token",
}


def _tradesperson(request: HttpRequest) -> User:
    user = page_user(request)
    if not user.is_tradesperson:
        raise PermissionDenied("This page is for tradespeople.")
    return user


def _refusal_to_form(form: Any, exc: ServiceError) -> None:
    field = _FIELDS.get(exc.code)
    form.add_error(field if field in form.fields else None, exc.message)


def _own_trades(user: User) -> Any:
    profile = job_selectors.public_profile(user_id=user.pk)
    return profile.trades.all() if profile is not None else None


def _save(form: ServiceOfferingForm, user: User, offering: ServiceOffering | None = None) -> ServiceOffering | None:
    data = form.cleaned_data
    try:
        return offerings.offering_save(
            pro=user,
            offering=offering,
            trade=data["trade"],
            title=data["title"],
            description=data["description"],
            price=data["price"],
            duration_minutes=data["duration_minutes"],
            active=data["active"],
        )
    except ServiceError as exc:
        _refusal_to_form(form, exc)
        return None


@login_required
def offering_list(request: HttpRequest) -> HttpResponse:
    """The tradesperson's fixed-price services, and a form to add one."""
    user = _tradesperson(request)
    trades = _own_trades(user)
    form = ServiceOfferingForm(request.POST or None, trades=trades)
    if request.method == "POST" and form.is_valid() and _save(form, user) is not None:
        messages.success(request, "Service published. Customers can book it from your public profile.")
        return redirect("offering-list")
    rows = [(o, duration_label(o.duration_minutes)) for o in selectors.offerings_of(pro_id=user.pk, include_inactive=True)]
    context = {"form": form, "rows": rows, "has_profile": trades is not None, "example_price": Decimal("85")}
    return render(request, "quotes/offerings.html", context)


def _own_offering(user: User, offering_id: int) -> ServiceOffering:
    offering = selectors.offerings_of(pro_id=user.pk, include_inactive=True).filter(pk=offering_id).first()
    if offering is None:
        raise Http404("No such service.")
    return offering


@login_required
def offering_edit(request: HttpRequest, offering_id: int) -> HttpResponse:
    user = _tradesperson(request)
    offering = _own_offering(user, offering_id)
    initial = {
        "trade": offering.trade_id,
        "title": offering.title,
        "description": offering.description,
        "price": offering.price,
        "duration_minutes": offering.duration_minutes,
        "active": offering.active,
    }
    form = ServiceOfferingForm(request.POST or None, initial=initial, trades=_own_trades(user))
    if request.method == "POST" and form.is_valid() and _save(form, user, offering) is not None:
        messages.success(request, "Service saved.")
        return redirect("offering-list")
    return render(request, "quotes/offering_form.html", {"form": form, "offering": offering})


@login_required
@require_POST
def offering_active(request: HttpRequest, offering_id: int) -> HttpResponse:
    """Show or hide a service ("active" = "1" or "0")."""
    user = _tradesperson(request)
    offering = offerings.offering_set_active(
        offering=_own_offering(user, offering_id), actor=user, active=request.POST.get("active") == "1"
    )
    messages.success(request, f"“{offering.title}” is {'bookable again' if offering.active else 'hidden from customers'}.")
    return redirect("offering-list")


def _by_day(starts: list[datetime]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Free starts grouped by local day: [("Tue 8 Dec", [(ISO UTC value, "09:00"), ...]), ...] in the viewer's zone."""
    days: dict[str, list[tuple[str, str]]] = {}
    for start in starts:
        local = timezone.localtime(start)
        days.setdefault(date_filter(local, "D j M"), []).append((start.isoformat(), date_filter(local, "H:i")))
    return list(days.items())


@login_required
def offering_book(request: HttpRequest, pro_id: int, offering_id: int) -> HttpResponse:
    """The customer books a service: a free time, where, and the deposit (simulated gateway)."""
    user = page_user(request)
    if not user.is_customer:
        raise PermissionDenied("Log in with a customer account to book.")
    offering = selectors.bookable_offering(pro_id=pro_id, offering_id=offering_id)
    profile = job_selectors.public_profile(user_id=pro_id)
    if offering is None or profile is None:
        raise Http404("No such service.")
    form = BookingForm(request.POST or None, cards=TEST_CARDS)
    status = 200
    if request.method == "POST" and form.is_valid():
        latitude, longitude, place = form.cleaned_data["location"]
        try:
            job = offerings.service_book(
                offering=offering,
                customer=user,
                starts_at=form.cleaned_data["starts_at"],
                card_token=form.cleaned_data["card_token"],
                where=offerings.Where(latitude, longitude, place),
                notes=form.cleaned_data["notes"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ServiceError as exc:
            _refusal_to_form(form, exc)
            status = status_for(exc)
            # The same page, with fresh times and a fresh key: this attempt is over (its job, if any, was cancelled).
            data = request.POST.copy()
            data["idempotency_key"] = BookingForm(cards=TEST_CARDS).initial["idempotency_key"]
            form.data = data
        else:
            messages.success(request, f"Booked: {offering.title} with {profile.business_name}. Your deposit is held.")
            return redirect("job-detail", job_id=job.pk)
    slots = selectors.offering_slots(offering=offering)
    chosen = request.POST.get("starts_at", "") if status == 200 else ""
    context = {
        "form": form,
        "offering": offering,
        "pro": profile,
        "duration": duration_label(offering.duration_minutes),
        "deposit": (deposit := offerings.offering_deposit(offering)),
        "balance": offering.price - deposit,
        "slot_days": _by_day(slots),
        "chosen": chosen,
        "places": places.all_places(),
    }
    return render(request, "quotes/book.html", context, status=status)
