"""Reads for quotes and payments, each scoped to who is asking.

Who sees what: a quote (every version) is visible to its tradesperson, the job's customer and
staff; never to other bidders. A payment and its invoice are visible to the job's customer,
the job's tradesperson and staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from payments.models import Payment, PaymentOperation
from quotes.models import (
    AgreementOccurrence,
    PriceBookItem,
    QuoteAcceptance,
    QuoteOption,
    QuoteTemplate,
    QuoteVersion,
    ServiceAgreement,
    ServiceOffering,
)
from scheduling import selectors as scheduling


def _with_options(versions: QuerySet[QuoteVersion]) -> QuerySet[QuoteVersion]:
    return versions.prefetch_related(Prefetch("options", queryset=QuoteOption.objects.prefetch_related("lines")))


def can_see_quote(*, user: User, bid: Bid) -> bool:
    return bool(user.is_staff or bid.tradesperson_id == user.pk or bid.job.customer_id == user.pk)


def quote_versions(*, bid: Bid, viewer: User) -> QuerySet[QuoteVersion]:
    """All versions of a bid's quote, oldest first, with options and lines; empty for anyone else."""
    versions = QuoteVersion.objects.filter(bid=bid).order_by("number")
    if not can_see_quote(user=viewer, bid=bid):
        return versions.none()
    return _with_options(versions)


def latest_quote(*, bid: Bid, viewer: User) -> QuoteVersion | None:
    return quote_versions(bid=bid, viewer=viewer).order_by("-number").first()


def latest_quotes_for_job(*, job: Job, viewer: User) -> dict[int, QuoteVersion]:
    """{bid id: latest version} for the bids on ``job`` the viewer may see (one query per relation)."""
    bids = Bid.objects.filter(job=job)
    if not (viewer.is_staff or job.customer_id == viewer.pk):
        bids = bids.filter(tradesperson=viewer)
    latest: dict[int, QuoteVersion] = {}
    for version in _with_options(QuoteVersion.objects.filter(bid__in=bids).order_by("bid_id", "number")):
        latest[version.bid_id] = version
    return latest


def previous_amounts(*, bids: Iterable[Bid]) -> dict[int, Decimal]:
    """{bid id: its amount before the last revision} for the revised ones among ``bids``, in one query.

    The amount before is the previous quote version's cheapest total (what the bid's amount was then,
    ``quotes.presenters.bid_amount``). An accepted bid has none: accepting an option is not a price change.
    Pass only bids the viewer may see.
    """
    wanted = Q()
    for bid in bids:
        if bid.revision >= 2 and bid.status != Bid.Status.ACCEPTED:
            wanted |= Q(version__bid_id=bid.pk, version__number=bid.revision - 1)
    if not wanted:
        return {}
    amounts: dict[int, Decimal] = {}
    for bid_id, total in QuoteOption.objects.filter(wanted).values_list("version__bid_id", "total"):
        amounts[bid_id] = min(total, amounts.get(bid_id, total))
    return amounts


def acceptance_for_job(*, job: Job, viewer: User) -> QuoteAcceptance | None:
    found = QuoteAcceptance.objects.select_related("option", "version", "bid", "promo_redemption").filter(job=job)
    if not viewer.is_staff:
        found = found.filter(Q(customer=viewer) | Q(tradesperson=viewer))
    return found.first()


def payment_for_job(*, job: Job, viewer: User) -> Payment | None:
    found = Payment.objects.select_related("acceptance", "acceptance__option", "job").filter(job=job)
    if not viewer.is_staff:
        found = found.filter(Q(customer=viewer) | Q(tradesperson=viewer))
    return found.first()


def payment_operations(*, payment: Payment) -> QuerySet[PaymentOperation]:
    return PaymentOperation.objects.filter(payment=payment).exclude(status=PaymentOperation.Status.PENDING).order_by("created_at", "id")


# --- fixed-price services ------------------------------------------------------------------


def offerings_of(*, pro_id: int, include_inactive: bool = False) -> QuerySet[ServiceOffering]:
    """A tradesperson's fixed-price services (the active ones unless ``include_inactive``: their own page)."""
    offerings = ServiceOffering.objects.filter(pro_id=pro_id, pro__is_active=True).select_related("trade")
    return offerings if include_inactive else offerings.filter(active=True)


def bookable_offering(*, pro_id: int, offering_id: int) -> ServiceOffering | None:
    return offerings_of(pro_id=pro_id).filter(pk=offering_id).first()


def offering_slots(*, offering: ServiceOffering, per_day: int = 6, days: int = 5) -> list[datetime]:
    """Free starts (UTC) at which some worker of the business is free for the service, from the calendar's own
    rule (:func:`scheduling.selectors.next_free_slots`: hours, time off, appointments, travel): at most
    ``per_day`` on each of the first ``days`` days that have any, so a customer sees a choice of days."""
    duration = timedelta(minutes=offering.duration_minutes)
    starts: set[datetime] = set()
    zones: dict[datetime, str] = {}
    for worker in scheduling.workers_of(owner_id=offering.pro_id):
        for start in scheduling.next_free_slots(worker=worker, duration=duration, after=timezone.now(), count=per_day * days * 5):
            starts.add(start)
            zones.setdefault(start, worker.time_zone)
    chosen: list[datetime] = []
    per: dict[object, int] = {}
    for start in sorted(starts):
        day = start.astimezone(ZoneInfo(zones[start])).date()
        if day not in per and len(per) == days:
            break
        if per.get(day, 0) < per_day:
            per[day] = per.get(day, 0) + 1
            chosen.append(start)
    return chosen


# --- service plans ---------------------------------------------------------------------------------


def plans_for(*, user: User) -> QuerySet[ServiceAgreement]:
    """The service plans ``user`` is a side of (as the customer or the business), newest first, with their visits."""
    visits = AgreementOccurrence.objects.select_related("job").order_by("-due_date")
    return (
        ServiceAgreement.objects.filter(Q(customer=user) | Q(pro=user))
        .select_related("customer", "pro", "created_from")
        .prefetch_related(Prefetch("occurrences", queryset=visits))
        .order_by("-created_at", "-id")
    )


def plan_for(*, user: User, plan_id: int) -> ServiceAgreement | None:
    """One plan, if ``user`` is one of its sides (staff use the admin)."""
    return plans_for(user=user).filter(pk=plan_id).first()


def plan_for_job(*, job: Job, viewer: User) -> ServiceAgreement | None:
    """The live plan (offered or active) started from ``job``, for its customer or business."""
    return plans_for(user=viewer).filter(created_from=job).exclude(status=ServiceAgreement.Status.CANCELLED).first()


# --- the price book (its business only) ------------------------------------------------------


def price_book_items(*, business_id: int, include_archived: bool = False) -> QuerySet[PriceBookItem]:
    """A business's price book items by name (the active ones unless ``include_archived``: its own pages and API)."""
    items = PriceBookItem.objects.filter(business_id=business_id)
    return items if include_archived else items.filter(active=True)


def price_book_item(*, business_id: int, item_id: int) -> PriceBookItem | None:
    """One of the business's own items, archived or not; None for another business's (answered as 404)."""
    return price_book_items(business_id=business_id, include_archived=True).filter(pk=item_id).first()


def quote_templates(*, business_id: int, include_archived: bool = False) -> QuerySet[QuoteTemplate]:
    """A business's quote templates with their lines in order."""
    templates = QuoteTemplate.objects.filter(business_id=business_id).select_related("trade").prefetch_related("lines")
    return templates if include_archived else templates.filter(active=True)


def quote_template(*, business_id: int, template_id: int) -> QuoteTemplate | None:
    return quote_templates(business_id=business_id, include_archived=True).filter(pk=template_id).first()
