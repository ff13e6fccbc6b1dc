"""Fixed-price services: the only code that writes a tradesperson's :class:`~quotes.models.ServiceOffering`
and books one straight into their calendar.

Booking reuses what a quoted job goes through, so money, the calendar and live updates behave the same:

1. the job is posted as a direct request to the tradesperson (``job.posted``, ``job.direct_requested``),
   with its lead (``lead.offered``) and the service as a one-line quote at the fixed price
   (``bid.placed``, ``quote.published``), in one transaction;
2. the customer accepts that quote (:func:`quotes.services.quote_accept`): the deposit is authorised at
   the gateway outside any transaction, then acceptance, award, payment and the appointment
   (:func:`scheduling.services.appointment_book`, ``appointment.booked``) commit together.

Two customers racing for one slot: the database's exclusion constraint lets one appointment in; the
other's acceptance rolls back, their deposit hold is voided, their unbooked job is cancelled, and they
get a sentence with the next free starts (``slot_taken``, 409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job, Trade, TradespersonProfile
from jobs.services import scrub
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.geo import haversine_km
from marketplace.money import PENNY, format_money
from matching import services as matching
from scheduling import selectors as scheduling
from scheduling.models import Worker
from scheduling.services import appointment_book
from scheduling.services.common import SlotUnavailable, check_slot

from . import terms
from .models import ServiceOffering
from .pricing import LineItem, price
from .services import OptionInput, QuoteInput, quote_accept, quote_submit

MAX_DURATION_MINUTES = 12 * 60


# --- the tradesperson's services ----------------------------------------------------------


def offering_net(total: Decimal, *, tax_rate: Decimal) -> Decimal:
    """The pre-VAT line amount whose total (net plus VAT, rounded as the pricing engine rounds) is ``total``.

    Raises ``price_not_exact`` (400) for the few VAT-inclusive prices no net in pence produces, naming the
    nearest price that works.
    """
    estimate = (total / (1 + tax_rate)).quantize(PENNY)
    candidates = [estimate + PENNY * step for step in (0, -1, 1, -2, 2)]
    for net in candidates:
        if net > 0 and _total_of(net, tax_rate) == total:
            return net
    nearest = min((_total_of(net, tax_rate) for net in candidates if net > 0), key=lambda t: abs(t - total))
    raise ServiceError(
        f"With VAT at {tax_rate * 100:.4g}% no price before VAT adds up to exactly {format_money(total)}; "
        f"try {format_money(nearest)} instead.",
        code="price_not_exact",
        kind=Refusal.INVALID,
    )


def offering_deposit(offering: ServiceOffering) -> Decimal:
    """The deposit a booking of ``offering`` holds, by the same pricing rules as an accepted quote."""
    tax_rate = terms.business_tax_rate(offering.pro_id)
    net = offering_net(offering.price, tax_rate=tax_rate)
    return price([LineItem("other", "service", Decimal(1), net)], policy=terms.policy(tax_rate=tax_rate)).deposit


def _total_of(net: Decimal, tax_rate: Decimal) -> Decimal:
    return price([LineItem("other", "service", Decimal(1), net)], policy=terms.policy(tax_rate=tax_rate)).total


def _check_offering(pro: User, trade: Trade, title: str, price_: Decimal, duration_minutes: int) -> None:
    if not pro.is_tradesperson:
        raise ServiceError("Only tradespeople publish services.", code="not_a_tradesperson", kind=Refusal.FORBIDDEN)
    profile = TradespersonProfile.objects.filter(user=pro).first()
    if profile is None:
        raise ServiceError("Set up your business profile first.", code="no_profile", kind=Refusal.INVALID)
    if not profile.trades.filter(pk=trade.pk).exists():
        raise ServiceError("Choose one of your own trades.", code="not_your_trade", kind=Refusal.INVALID)
    if not title.strip():
        raise ServiceError("Give the service a name.", code="bad_title", kind=Refusal.INVALID)
    if not 15 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise ServiceError("A service takes from 15 minutes to 12 hours.", code="bad_duration", kind=Refusal.INVALID)
    amount = job_services.money(price_)
    if amount <= 0 or amount > job_services.MAX_AMOUNT:
        raise ServiceError("The price must be more than 0 and at most 1,000,000.", code="bad_amount", kind=Refusal.INVALID)
    offering_net(amount, tax_rate=terms.business_tax_rate(pro.pk))


def offering_save(
    *,
    pro: User,
    trade: Trade,
    title: str,
    description: str,
    price: Decimal,
    duration_minutes: int,
    active: bool = True,
    offering: ServiceOffering | None = None,
) -> ServiceOffering:
    """Publish a fixed-price service, or change one of the tradesperson's own (``offering``).

    Refused: not the owner, a trade they don't do, a duration outside 15 min..12 h, a price that VAT
    cannot split exactly (``price_not_exact``). Bookings already made keep the price they were made at.
    """
    if offering is not None and offering.pro_id != pro.pk:
        raise ServiceError("This service is not yours.", code="forbidden", kind=Refusal.FORBIDDEN)
    _check_offering(pro, trade, title, price, duration_minutes)
    fields = {
        "trade": trade,
        "title": scrub(title.strip())[:120],
        "description": scrub(description.strip())[:2000],
        "price": job_services.money(price),
        "duration_minutes": duration_minutes,
        "active": active,
    }
    with transaction.atomic():
        if offering is None:
            return ServiceOffering.objects.create(pro=pro, **fields)
        offering = ServiceOffering.objects.select_for_update().get(pk=offering.pk)
        for name, value in fields.items():
            setattr(offering, name, value)
        offering.save()
    return offering


def offering_set_active(*, offering: ServiceOffering, actor: User, active: bool) -> ServiceOffering:
    """Show or hide a service (hidden ones cannot be booked; bookings made stay)."""
    if offering.pro_id != actor.pk:
        raise ServiceError("This service is not yours.", code="forbidden", kind=Refusal.FORBIDDEN)
    ServiceOffering.objects.filter(pk=offering.pk).update(active=active, updated_at=timezone.now())
    offering.active = active
    return offering


# --- booking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where the job is: coordinates and the place's name."""

    latitude: Decimal
    longitude: Decimal
    place: str = ""


def _free_worker(offering: ServiceOffering, starts_at: datetime) -> Worker:
    """A worker of the business free at ``starts_at`` for the service, or ``slot_taken`` with the next free starts."""
    duration = timedelta(minutes=offering.duration_minutes)
    workers = scheduling.workers_of(owner_id=offering.pro_id)
    if not workers:
        raise ServiceError("This tradesperson has no calendar open for bookings yet.", code="no_calendar", kind=Refusal.CONFLICT)
    refusal: SlotUnavailable | None = None
    for worker in workers:
        try:
            check_slot(worker=worker, starts_at=starts_at, duration=duration)
        except SlotUnavailable as exc:
            refusal = refusal or exc
            continue
        return worker
    assert refusal is not None
    raise refusal


def service_book(
    *,
    offering: ServiceOffering,
    customer: User,
    starts_at: datetime,
    card_token: str,
    where: Where,
    notes: str = "",
    idempotency_key: str = "",
) -> Job:
    """Book ``offering`` at ``starts_at`` for ``customer``: posts the job, holds the deposit, books the slot.

    Returns the scheduled job. Refused: not a customer (403), an inactive service or its own tradesperson
    booking it (400/403), a start that is not free (409 ``slot_taken`` etc. with ``suggestions``), a
    declined card (402). After a refusal past the first step the unbooked job is cancelled and any hold
    released, so nothing is left open. Idempotent per (customer, idempotency_key): a repeat returns the
    booked job.
    """
    if not customer.is_customer:
        raise ServiceError("Only customers can book services.", code="not_a_customer", kind=Refusal.FORBIDDEN)
    if idempotency_key:
        done = Job.objects.filter(customer=customer, idempotency_key=idempotency_key).first()
        if done is not None and done.status == Job.Status.SCHEDULED:
            return done
        if done is not None:
            raise ServiceError("This booking was not completed; choose a time again.", code="booking_failed", kind=Refusal.CONFLICT)
    offering = ServiceOffering.objects.select_related("trade").get(pk=offering.pk)
    if not offering.active:
        raise ServiceError("This service is no longer offered.", code="offering_inactive", kind=Refusal.CONFLICT)
    profile = TradespersonProfile.objects.filter(user_id=offering.pro_id).first()
    if profile is None:
        raise ServiceError("This tradesperson can't take bookings.", code="pro_unavailable", kind=Refusal.CONFLICT)
    duration = timedelta(minutes=offering.duration_minutes)
    worker = _free_worker(offering, starts_at)  # a clear answer before anything is written
    tax_rate = terms.business_tax_rate(offering.pro_id)
    net = offering_net(offering.price, tax_rate=tax_rate)

    with transaction.atomic():
        job, _ = job_services.job_post(
            customer=customer,
            trade=offering.trade,
            title=offering.title,
            description=scrub(notes.strip()) or offering.description or offering.title,
            latitude=where.latitude,
            longitude=where.longitude,
            place=where.place,
            budget_min=offering.price,
            budget_max=offering.price,
            window_start=starts_at,
            window_end=starts_at + duration,
            idempotency_key=idempotency_key,
            requested_pro=offering.pro,
        )
        distance = haversine_km(float(where.latitude), float(where.longitude), float(profile.base_latitude), float(profile.base_longitude))
        matching.leads_offer(job=job, offers=[(profile, Decimal(str(round(distance, 2))), Decimal("1"))], match_round=1)
        line = LineItem("other", offering.title[:200], Decimal(1), net)
        version = quote_submit(
            job=job,
            tradesperson=offering.pro,
            quote=QuoteInput(options=[OptionInput(lines=[line])], message=f"Fixed price: {offering.title}"),
        )

    def book(locked: Job) -> None:
        appointment_book(job=locked, worker=worker, starts_at=starts_at, duration_minutes=offering.duration_minutes, actor=customer)

    try:
        quote_accept(
            job=job,
            bid=version.bid,
            actor=customer,
            version_number=version.number,
            card_token=card_token,
            expected_total=offering.price,
            idempotency_key=f"booking:{job.pk}",
            then=book,
        )
    except ServiceError:
        job_services.job_cancel(job=job, actor=customer, reason="The booking was not completed.")
        raise
    job.refresh_from_db()
    return job
