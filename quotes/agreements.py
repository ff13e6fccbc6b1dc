"""Service plans (recurring work, such as an annual boiler service): the only code that writes a
:class:`~quotes.models.ServiceAgreement` and books its visits.

- The business offers a plan to a customer after a job it completed for them (:func:`agreement_offer`):
  the same job every N months at a price (VAT included). Nothing is booked until the customer accepts it,
  naming the card the deposits are held on (:func:`agreement_accept`). Either side may cancel
  (:func:`agreement_cancel`); the customer cancelling an offer declines it.
- The clock (``quotes/periodic.py``) calls :func:`agreements_book_due`: ``SERVICE_PLANS["LEAD_DAYS"]``
  before a visit is due it books the visit exactly as a fixed-price booking is booked
  (``quotes.offerings``): a job requested from the business, a one-line quote at the agreed price priced
  by the one pricing engine, the customer's acceptance with the deposit held on their card, and an
  appointment in the business's first free slot on or after the due date. With no free slot in the
  calendar's horizon the job is awarded without a time and the business is asked to schedule it; with a
  declined card the quote waits on the customer's job page for them to accept it with another card.

Idempotent: a visit is claimed by inserting its :class:`~quotes.models.AgreementOccurrence` (unique per
plan and due date) together with its job and the plan's next due date, in one transaction under the
plan's row lock; the gateway is called only after that commits. A visit whose booking was interrupted is
retried by a later pass (same idempotency key, so the deposit is held once).

Events: ``agreement.created``, ``agreement.accepted``, ``agreement.occurrence_created``,
``agreement.cancelled`` (key = agreement id); each visit's job then emits what any booking emits.
People are told in-app (and by email/SMS per their preferences) through ``notify``, whose deliveries go
out after the transaction commits.
"""

from __future__ import annotations

import calendar
import logging
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Bid, Job, TradespersonProfile
from jobs.services import scrub
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import PendingEvent, emit_many
from marketplace.geo import haversine_km
from marketplace.money import format_money
from marketplace.notifications.services import notify
from matching import services as matching
from scheduling import selectors as scheduling
from scheduling.models import Worker
from scheduling.services import appointment_book

from . import events as ev
from . import terms
from .models import AgreementOccurrence, ServiceAgreement, interval_label
from .offerings import MAX_DURATION_MINUTES, offering_net
from .pricing import LineItem
from .services import OptionInput, QuoteInput, latest_version, quote_accept, quote_submit

PLANS_URL = "/plans/"
logger = logging.getLogger(__name__)


def add_months(day: date, months: int) -> date:
    """``day`` moved on by ``months`` calendar months; the 31st becomes the month's last day (29 Feb -> 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _plans() -> dict[str, int]:
    return dict(settings.SERVICE_PLANS)


def _local_today(user: User) -> date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(user.time_zone or "UTC"))


def _side(agreement: ServiceAgreement, actor: User) -> Literal["customer", "tradesperson", "staff"]:
    if actor.pk == agreement.customer_id:
        return "customer"
    if actor.pk == agreement.pro_id:
        return "tradesperson"
    if actor.is_staff:
        return "staff"
    raise ServiceError("This service plan is not yours.", code="forbidden", kind=Refusal.FORBIDDEN)


# --- offer, accept, cancel ---------------------------------------------------------------------


def agreement_offer(
    *, job: Job, actor: User, price: Decimal, interval_months: int | None = None, duration_minutes: int = 60
) -> ServiceAgreement:
    """The business that completed ``job`` offers its customer a plan: the same job every ``interval_months``.

    The first visit is due ``interval_months`` after today (the business's date). Refused: not the job's
    tradesperson (403), a job not completed (409), a plan already offered or running from this job (409),
    an interval outside 1..MAX_INTERVAL_MONTHS, a duration outside 15 min..12 h, a price not more than 0
    or that VAT cannot split exactly (400). Emits ``agreement.created``; notifies the customer.
    """
    months = interval_months or _plans()["DEFAULT_INTERVAL_MONTHS"]
    if job.tradesperson_id != actor.pk:
        raise ServiceError(
            "Only the tradesperson who did this job can offer a service plan for it.", code="forbidden", kind=Refusal.FORBIDDEN
        )
    if job.status != Job.Status.COMPLETED:
        raise ServiceError("Offer a service plan once the job is completed.", code="job_not_completed", kind=Refusal.CONFLICT)
    if not 1 <= months <= _plans()["MAX_INTERVAL_MONTHS"]:
        raise ServiceError(
            f"A plan repeats every 1 to {_plans()['MAX_INTERVAL_MONTHS']} months.", code="bad_interval", kind=Refusal.INVALID
        )
    if not 15 <= duration_minutes <= MAX_DURATION_MINUTES:
        raise ServiceError("A visit takes from 15 minutes to 12 hours.", code="bad_duration", kind=Refusal.INVALID)
    amount = job_services.money(price)
    if amount <= 0 or amount > job_services.MAX_AMOUNT:
        raise ServiceError("The price must be more than 0 and at most 1,000,000.", code="bad_amount", kind=Refusal.INVALID)
    offering_net(amount, tax_rate=terms.business_tax_rate(actor.pk))  # refuses a price VAT cannot split exactly
    with transaction.atomic():
        Job.objects.select_for_update(of=("self",)).get(pk=job.pk)  # two offers for one job: one waits for the other
        if ServiceAgreement.objects.filter(created_from=job).exclude(status=ServiceAgreement.Status.CANCELLED).exists():
            raise ServiceError("A service plan for this job is already offered or running.", code="plan_exists", kind=Refusal.CONFLICT)
        agreement = ServiceAgreement.objects.create(
            customer_id=job.customer_id,
            pro=actor,
            created_from=job,
            trade_id=job.trade_id,
            title=job.title[:120],
            price=amount,
            duration_minutes=duration_minutes,
            interval_months=months,
            next_due=add_months(_local_today(actor), months),
            latitude=job.latitude,
            longitude=job.longitude,
            place=job.place,
        )
        emit_many(
            [
                PendingEvent(
                    ev.AGREEMENT_CREATED,
                    agreement.pk,
                    {
                        "agreement_id": agreement.pk,
                        "customer_id": agreement.customer_id,
                        "tradesperson_id": actor.pk,
                        "title": agreement.title,
                        "price": str(amount),
                        "interval_months": months,
                        "next_due": agreement.next_due.isoformat(),
                        "created_from_job_id": job.pk,
                    },
                    actor.pk,
                )
            ]
        )
        notify(
            recipient_id=agreement.customer_id,
            kind="plan_offered",
            title=f"Service plan offered: {agreement.title}, {interval_label(months)} at {format_money(amount)}",
            body="Accept it on your job page or on Service plans; nothing is booked until you do.",
            url=f"/jobs/{job.pk}/",
            object_key=f"plan:{agreement.pk}",
        )
    return agreement


def _check_token(card_token: str) -> str:
    token = (card_token or "").strip()
    if not token or len(token) > 64 or sum(ch.isdigit() for ch in token) >= 12:
        raise ServiceError("Choose the card to hold each visit's deposit on.", code="card_required", kind=Refusal.INVALID)
    return token


def agreement_accept(*, agreement: ServiceAgreement, actor: User, card_token: str) -> ServiceAgreement:
    """The customer accepts an offered plan, naming the card each visit's deposit is held on.

    Idempotent: accepting an active plan again changes nothing. Refused: not the plan's customer (403),
    a cancelled plan (409), no card (400). Emits ``agreement.accepted``; notifies the business.
    """
    token = _check_token(card_token)
    with transaction.atomic():
        agreement = ServiceAgreement.objects.select_for_update().get(pk=agreement.pk)
        if agreement.customer_id != actor.pk:
            raise ServiceError("Only the customer can accept this service plan.", code="forbidden", kind=Refusal.FORBIDDEN)
        if agreement.status == ServiceAgreement.Status.ACTIVE:
            return agreement
        if agreement.status == ServiceAgreement.Status.CANCELLED:
            raise ServiceError(
                "This service plan was cancelled; ask the tradesperson for a new one.", code="plan_cancelled", kind=Refusal.CONFLICT
            )
        agreement.status = ServiceAgreement.Status.ACTIVE
        agreement.card_token = token
        agreement.accepted_at = timezone.now()
        agreement.save(update_fields=["status", "card_token", "accepted_at", "updated_at"])
        emit_many(
            [
                PendingEvent(
                    ev.AGREEMENT_ACCEPTED,
                    agreement.pk,
                    {
                        "agreement_id": agreement.pk,
                        "customer_id": agreement.customer_id,
                        "tradesperson_id": agreement.pro_id,
                        "next_due": agreement.next_due.isoformat(),
                    },
                    actor.pk,
                )
            ]
        )
        notify(
            recipient_id=agreement.pro_id,
            kind="plan_accepted",
            title=f"Service plan accepted: {agreement.title}",
            body=f"The first visit is due on {agreement.next_due:%d %b %Y}; it is booked into your calendar "
            f"{_plans()['LEAD_DAYS']} days before.",
            url=PLANS_URL,
            object_key=f"plan:{agreement.pk}",
        )
    return agreement


def agreement_cancel(*, agreement: ServiceAgreement, actor: User) -> ServiceAgreement:
    """The customer, the business or staff cancels a plan (the customer cancelling an offer declines it).

    No further visit is booked; a visit already booked stays (it is cancelled on its job page, under the
    usual cancellation rules). Idempotent. Emits ``agreement.cancelled``; notifies the other side.
    """
    with transaction.atomic():
        agreement = ServiceAgreement.objects.select_for_update().get(pk=agreement.pk)
        side = _side(agreement, actor)
        if agreement.status == ServiceAgreement.Status.CANCELLED:
            return agreement
        agreement.status = ServiceAgreement.Status.CANCELLED
        agreement.cancelled_at = timezone.now()
        agreement.cancelled_by = actor
        agreement.save(update_fields=["status", "cancelled_at", "cancelled_by", "updated_at"])
        emit_many(
            [
                PendingEvent(
                    ev.AGREEMENT_CANCELLED,
                    agreement.pk,
                    {"agreement_id": agreement.pk, "customer_id": agreement.customer_id, "tradesperson_id": agreement.pro_id, "by": side},
                    actor.pk,
                )
            ]
        )
        others = {"customer": [agreement.pro_id], "tradesperson": [agreement.customer_id]}.get(
            side, [agreement.customer_id, agreement.pro_id]
        )
        for recipient_id in others:
            notify(
                recipient_id=recipient_id,
                kind="plan_cancelled",
                title=f"Service plan cancelled: {agreement.title}",
                body="No more visits will be booked. A visit already booked stays on its job page.",
                url=PLANS_URL,
                object_key=f"plan:{agreement.pk}",
            )
    return agreement


# --- the clock: booking each visit ----------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    worker: Worker
    starts_at: datetime


def _slot_near(agreement: ServiceAgreement, due: date) -> Slot | None:
    """The first free start of any worker of the business on or after the morning of ``due`` (their zone)."""
    duration = timedelta(minutes=agreement.duration_minutes)
    best: Slot | None = None
    for worker in scheduling.workers_of(owner_id=agreement.pro_id):
        after = datetime.combine(due, time(0), tzinfo=zoneinfo.ZoneInfo(worker.time_zone or "UTC"))
        found = scheduling.next_free_slots(worker=worker, duration=duration, after=after, count=1)
        if found and (best is None or found[0] < best.starts_at):
            best = Slot(worker, found[0])
    return best


def _claim(agreement_id: int, today: date) -> AgreementOccurrence | None:
    """Post the job and quote of the plan's next visit and move ``next_due`` on, if it is still due; else None."""
    lead = timedelta(days=_plans()["LEAD_DAYS"])
    with transaction.atomic():
        agreement = (
            ServiceAgreement.objects.select_for_update(skip_locked=True)
            .filter(pk=agreement_id, status=ServiceAgreement.Status.ACTIVE, next_due__lte=today + lead)
            .select_related("customer", "pro", "trade")
            .first()
        )
        if agreement is None:
            return None  # booked meanwhile, cancelled, or another clock holds it
        due = agreement.next_due
        profile = TradespersonProfile.objects.filter(user_id=agreement.pro_id).first()
        agreement.next_due = add_months(due, agreement.interval_months)
        agreement.save(update_fields=["next_due", "updated_at"])
        try:
            with transaction.atomic():
                occurrence = AgreementOccurrence.objects.create(agreement=agreement, due_date=due)
        except IntegrityError:
            return None  # this visit was booked already (the date moved back by hand): never twice
        if profile is None or not agreement.pro.is_active or not agreement.customer.is_active:
            occurrence.status = AgreementOccurrence.Status.AWARDED
            occurrence.save(update_fields=["status", "updated_at"])
            return None
        slot = _slot_near(agreement, due)
        zone = zoneinfo.ZoneInfo(agreement.customer.time_zone or "UTC")
        window_start = slot.starts_at if slot else max(datetime.combine(due, time(8), tzinfo=zone), timezone.now())
        window_end = window_start + timedelta(minutes=agreement.duration_minutes) if slot else window_start + timedelta(days=14)
        job, _ = job_services.job_post(
            customer=agreement.customer,
            trade=agreement.trade,
            title=agreement.title,
            description=scrub(f"{agreement.title}: the visit of your service plan due on {due:%d %b %Y}."),
            latitude=agreement.latitude,
            longitude=agreement.longitude,
            place=agreement.place,
            budget_min=agreement.price,
            budget_max=agreement.price,
            window_start=window_start,
            window_end=window_end,
            idempotency_key=f"plan:{agreement.pk}:{due.isoformat()}",
            requested_pro=agreement.pro,
        )
        distance = haversine_km(
            float(agreement.latitude), float(agreement.longitude), float(profile.base_latitude), float(profile.base_longitude)
        )
        matching.leads_offer(job=job, offers=[(profile, Decimal(str(round(distance, 2))), Decimal("1"))], match_round=1)
        net = offering_net(agreement.price, tax_rate=terms.business_tax_rate(agreement.pro_id))
        quote_submit(
            job=job,
            tradesperson=agreement.pro,
            quote=QuoteInput(
                options=[OptionInput(lines=[LineItem("other", agreement.title[:200], Decimal(1), net)])],
                message=f"Service plan: {agreement.title}, {interval_label(agreement.interval_months)}",
            ),
        )
        occurrence.job = job
        occurrence.save(update_fields=["job", "updated_at"])
        emit_many(
            [
                PendingEvent(
                    ev.AGREEMENT_OCCURRENCE_CREATED,
                    agreement.pk,
                    {
                        "agreement_id": agreement.pk,
                        "job_id": job.pk,
                        "due_date": due.isoformat(),
                        "customer_id": agreement.customer_id,
                        "tradesperson_id": agreement.pro_id,
                    },
                )
            ]
        )
    return occurrence


def _when(moment: datetime, user: User) -> str:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(user.time_zone or "UTC")).strftime("%a %d %b %Y at %H:%M")


def occurrence_book(occurrence: AgreementOccurrence) -> AgreementOccurrence:
    """Accept the visit's quote for the customer (deposit held on the plan's card) and book a slot near the due date.

    Called outside any transaction (the gateway is called). Idempotent: an accepted visit is left as it is.
    Ends ``booked`` (with an appointment), ``awarded`` (no free slot: the business is asked to schedule it)
    or ``needs_payment`` (the card was refused: the customer is asked to accept the quote on the job page).
    """
    occurrence = AgreementOccurrence.objects.select_related("agreement", "agreement__customer", "agreement__pro", "job").get(
        pk=occurrence.pk
    )
    agreement, job = occurrence.agreement, occurrence.job
    if job is None or occurrence.status != AgreementOccurrence.Status.PENDING:
        return occurrence
    bid = Bid.objects.filter(job=job, tradesperson_id=agreement.pro_id).first()
    version = latest_version(bid) if bid is not None else None
    if bid is None or version is None:
        return occurrence
    slot = _slot_near(agreement, occurrence.due_date)
    customer = agreement.customer

    def book(locked: Job) -> None:
        assert slot is not None
        appointment_book(
            job=locked, worker=slot.worker, starts_at=slot.starts_at, duration_minutes=agreement.duration_minutes, actor=customer
        )

    def accept(with_slot: bool) -> None:
        quote_accept(
            job=job,
            bid=bid,
            actor=customer,
            version_number=version.number,
            card_token=agreement.card_token,
            idempotency_key=f"plan-visit:{occurrence.pk}:{'slot' if with_slot else 'open'}",
            then=book if with_slot else None,
        )

    status = AgreementOccurrence.Status.BOOKED if slot else AgreementOccurrence.Status.AWARDED
    try:
        try:
            accept(with_slot=slot is not None)
        except ServiceError as exc:
            if slot is None or exc.code not in _SLOT_GONE:
                raise
            status = AgreementOccurrence.Status.AWARDED  # the slot went meanwhile: award now, the business picks a time
            accept(with_slot=False)
    except ServiceError:
        status = AgreementOccurrence.Status.NEEDS_PAYMENT
    _finish(occurrence, status, slot.starts_at if slot and status == AgreementOccurrence.Status.BOOKED else None)
    occurrence.status = status
    return occurrence


_SLOT_GONE = {"slot_taken", "outside_working_hours", "time_off", "in_the_past"}


def _finish(occurrence: AgreementOccurrence, status: str, starts_at: datetime | None) -> None:
    agreement, job = occurrence.agreement, occurrence.job
    assert job is not None
    customer, pro = agreement.customer, agreement.pro
    with transaction.atomic():
        AgreementOccurrence.objects.filter(pk=occurrence.pk).update(status=status, updated_at=timezone.now())
        key = f"plan-visit:{occurrence.pk}"
        if status == AgreementOccurrence.Status.BOOKED and starts_at is not None:
            notify(
                recipient_id=customer.pk,
                kind="plan_visit_booked",
                title=f"Your {agreement.title.lower()} is booked for {_when(starts_at, customer)}",
                body=f"Part of your service plan ({interval_label(agreement.interval_months)}). The deposit is held on your card; "
                "you can move or cancel the visit on the job page.",
                url=f"/jobs/{job.pk}/",
                object_key=key,
            )
            notify(
                recipient_id=pro.pk,
                kind="plan_visit_booked",
                title=f"Service plan visit booked: {agreement.title}, {_when(starts_at, pro)}",
                body="It is in your calendar.",
                url=f"/leads/{job.pk}/",
                object_key=key,
            )
        elif status == AgreementOccurrence.Status.AWARDED:
            notify(
                recipient_id=pro.pk,
                kind="plan_visit_unscheduled",
                title=f"Schedule a service plan visit: {agreement.title}",
                body=f"Due on {occurrence.due_date:%d %b %Y}, but your calendar had no free time near then. Pick a time on the job.",
                url=f"/leads/{job.pk}/",
                object_key=key,
            )
            notify(
                recipient_id=customer.pk,
                kind="plan_visit_unscheduled",
                title=f"Your {agreement.title.lower()} is due on {occurrence.due_date:%d %b %Y}",
                body="Your tradesperson will choose a time with you; you will be told when it is booked.",
                url=f"/jobs/{job.pk}/",
                object_key=key,
            )
        elif status == AgreementOccurrence.Status.NEEDS_PAYMENT:
            notify(
                recipient_id=customer.pk,
                kind="plan_visit_payment",
                title=f"Confirm your {agreement.title.lower()}: your card was not accepted",
                body="Open the job and accept the quote with another card to book the visit.",
                url=f"/jobs/{job.pk}/",
                object_key=key,
            )


def agreements_book_due(*, today: date | None = None) -> int:
    """Book every visit now due (within LEAD_DAYS), and retry visits whose booking was interrupted.

    Returns how many visits were booked or retried. Safe to run twice and with two clocks at once.
    """
    today = today or timezone.localdate()
    lead = timedelta(days=_plans()["LEAD_DAYS"])
    done = 0
    due_ids = list(
        ServiceAgreement.objects.filter(status=ServiceAgreement.Status.ACTIVE, next_due__lte=today + lead).values_list("pk", flat=True)[
            :200
        ]
    )
    for agreement_id in due_ids:
        try:
            occurrence = _claim(agreement_id, today)
        except ServiceError as exc:
            # One plan the services refuse (its trade gone from the business, say) must not stop every other plan's visit.
            logger.warning("service plan %s: its visit could not be posted (%s); retried next pass", agreement_id, exc.code)
            continue
        if occurrence is not None:
            occurrence_book(occurrence)
            done += 1
    stale = timezone.now() - timedelta(seconds=_plans()["RETRY_AFTER_S"])
    for occurrence in AgreementOccurrence.objects.filter(
        status=AgreementOccurrence.Status.PENDING, created_at__lt=stale, job__isnull=False
    )[:50]:
        occurrence_book(occurrence)
        done += 1
    return done
