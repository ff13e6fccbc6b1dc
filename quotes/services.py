"""The only code that writes quotes: publish, revise and accept.

A bid carries an itemised quote. Each publish or revision is a new, append-only
:class:`~quotes.models.QuoteVersion` with one to three options (good / better / best), each
priced by the one pricing engine (``quotes.pricing.price``); the client never sends a total.
The bid's ``amount`` is what the customer will pay, VAT included: its cheapest option's total
(``quotes.presenters.bid_amount``), and once accepted the accepted total (promo included). The
bid lists, pushes, notifications and the timeline show it, so a bid has one price everywhere.

Accepting a quote (:func:`quote_accept`) authorises the deposit at the gateway first, outside
any transaction, then in one transaction: redeems the promo code under its row lock, records
the :class:`~quotes.models.QuoteAcceptance` (the frozen contract), awards the job (declining
the other bids), creates the :class:`~quotes.models.Payment` and writes the events. If that
transaction is refused (the job changed meanwhile, the last promo use went to someone else),
the authorisation is voided, so no money stays held for nothing.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Bid, Job, Trade, TradespersonProfile
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import PendingEvent, emit_many
from marketplace.masking import mask
from marketplace.money import format_money
from payments import services as payments
from quotes.models import QuoteAcceptance, QuoteLine, QuoteOption, QuoteVersion
from quotes.pricing import Breakdown, Discount, LineItem, PricingError, diff, price

from . import events as ev
from . import terms
from .presenters import bid_amount
from .promos import promo_check, promo_redeem, promo_to_pricing


@dataclass(frozen=True)
class OptionInput:
    """One option as a tradesperson writes it: a tier, a title and its lines (pricing inputs, validated)."""

    lines: Sequence[LineItem]
    tier: str = QuoteOption.Tier.STANDARD
    title: str = ""


@dataclass(frozen=True)
class QuoteInput:
    options: Sequence[OptionInput]
    notes: str = ""
    valid_until: date | None = None
    discount: Discount | None = None
    message: str = ""
    earliest_start: datetime | None = None


def pricing_error(exc: PricingError, prefix: str = "") -> ServiceError:
    """A pricing refusal as an API error (400, the pricing code, the field named)."""
    error = ServiceError(exc.message, code=exc.code, kind=Refusal.INVALID)
    error.field = f"{prefix}{exc.field}" if exc.field else prefix.rstrip(".")
    return error


def single_line_quote(amount: Decimal, *, message: str = "", description: str = "Job as described") -> QuoteInput:
    """A one-line quote for a plain price (the bid form's "just a price" shortcut): net = ``amount``."""
    return QuoteInput(options=[OptionInput(lines=[LineItem("other", description, Decimal(1), amount)])], message=message)


def quote_price(quote: QuoteInput, *, tradesperson: User) -> list[Breakdown]:
    """Price a draft quote (every option) with the one engine and the business's VAT rate; nothing is written.

    Raises ServiceError like quote_submit.
    """
    return _check_quote(quote, timezone.localdate(), tax_rate=terms.business_tax_rate(tradesperson.pk))


def _check_quote(quote: QuoteInput, today: date, *, tax_rate: Decimal) -> list[Breakdown]:
    max_options = int(settings.PRICING["MAX_OPTIONS"])
    if not 1 <= len(quote.options) <= max_options:
        raise ServiceError(f"A quote has 1 to {max_options} options (good / better / best).", code="bad_options", kind=Refusal.INVALID)
    tiers = [option.tier for option in quote.options]
    if len(set(tiers)) != len(tiers) or any(t not in QuoteOption.Tier.values for t in tiers):
        raise ServiceError("Each option needs a different tier: standard, good, better or best.", code="bad_options", kind=Refusal.INVALID)
    if len(quote.options) > 1 and QuoteOption.Tier.STANDARD in tiers:
        raise ServiceError("With alternatives, name them good, better and best.", code="bad_options", kind=Refusal.INVALID)
    if quote.valid_until is not None and quote.valid_until < today:
        raise ServiceError("A quote cannot be valid until a day in the past.", code="bad_valid_until", kind=Refusal.INVALID)
    if len(quote.notes) > 2000:
        raise ServiceError("Notes are at most 2,000 characters.", code="too_long", kind=Refusal.INVALID)
    for index, option in enumerate(quote.options):
        if len(option.title) > 120:
            raise ServiceError("An option title is at most 120 characters.", code="too_long", kind=Refusal.INVALID)
        for number, line in enumerate(option.lines):
            if isinstance(line, LineItem) and len(line.description) > 200:
                error = ServiceError("A line's description is at most 200 characters.", code="too_long", kind=Refusal.INVALID)
                error.field = f"options[{index}].lines[{number}].description"
                raise error
    breakdowns = []
    for index, option in enumerate(quote.options):
        try:
            breakdowns.append(price(option.lines, policy=terms.policy(tax_rate=tax_rate), discount=quote.discount))
        except PricingError as exc:
            raise pricing_error(exc, f"options[{index}].") from exc
        if breakdowns[-1].total <= 0:
            raise free_option_error(index, quote.options[index].tier, quote.discount is not None)
    return breakdowns


def free_option_error(index: int, tier: str, quote_discount: bool) -> ServiceError:
    """An option whose discounts leave nothing to pay: refused with a sentence and the field it is about."""
    label = "this quote" if tier == QuoteOption.Tier.STANDARD else f"the {tier} option"
    error = ServiceError(
        f"The discounts take {label} to {format_money(0)}: make the discount smaller than the work it comes off.",
        code="discount_too_large",
        kind=Refusal.INVALID,
    )
    error.field = "discount" if quote_discount else f"options[{index}].lines"
    return error


def _save_version(bid: Bid, number: int, quote: QuoteInput, breakdowns: list[Breakdown], today: date, tax_rate: Decimal) -> QuoteVersion:
    version = QuoteVersion.objects.create(
        bid=bid,
        number=number,
        tax_rate=tax_rate,
        notes=mask(quote.notes),
        valid_until=quote.valid_until or terms.default_valid_until(today),
        discount_kind=quote.discount.kind if quote.discount else "",
        discount_value=quote.discount.value if quote.discount else Decimal("0"),
    )
    for position, (option, figures) in enumerate(zip(quote.options, breakdowns, strict=True)):
        saved = QuoteOption.objects.create(
            version=version,
            tier=option.tier,
            title=mask(option.title.strip())[:120],
            position=position,
            subtotal=figures.subtotal,
            discounts_total=figures.discounts_total,
            net=figures.net,
            tax=figures.tax,
            total=figures.total,
            platform_fee=figures.platform_fee,
            payout=figures.payout,
            deposit=figures.deposit,
            balance=figures.balance,
        )
        QuoteLine.objects.bulk_create(
            QuoteLine(
                option=saved,
                position=i,
                kind=line.kind,
                description=mask(line.description)[:200],
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
            )
            for i, line in enumerate(figures.lines)
        )
    return version


def _published(bid: Bid, version: QuoteVersion, changes: list[str]) -> PendingEvent:
    profile = TradespersonProfile.objects.filter(user_id=bid.tradesperson_id).first()
    options = [
        {"tier": o.tier, "title": o.label, "net": str(o.net), "tax": str(o.tax), "total": str(o.total), "deposit": str(o.deposit)}
        for o in version.options.all()
    ]
    return PendingEvent(
        ev.QUOTE_PUBLISHED,
        bid.job_id,
        {
            "job_id": bid.job_id,
            "bid_id": bid.pk,
            "tradesperson_id": bid.tradesperson_id,
            "business_name": profile.business_name if profile else str(bid.tradesperson),
            "version": version.number,
            "valid_until": version.valid_until.isoformat(),
            "options": options,
            "changes": changes[:50],
        },
        bid.tradesperson_id,
    )


def quote_submit(*, job: Job, tradesperson: User, quote: QuoteInput) -> QuoteVersion:
    """Bid with an itemised quote (version 1), priced with the business's VAT rate. Emits ``bid.placed`` then ``quote.published``."""
    today = timezone.localdate()
    tax_rate = terms.business_tax_rate(tradesperson.pk)
    breakdowns = _check_quote(quote, today, tax_rate=tax_rate)
    with transaction.atomic():
        bid = job_services.bid_place(
            job=job, tradesperson=tradesperson, amount=bid_amount(breakdowns), message=quote.message, earliest_start=quote.earliest_start
        )
        version = _save_version(bid, 1, quote, breakdowns, today, tax_rate)
        emit_many([_published(bid, version, [])])
    return version


def latest_version(bid: Bid) -> QuoteVersion | None:
    return QuoteVersion.objects.filter(bid=bid).order_by("-number").first()


def version_changes(old: QuoteVersion, new: QuoteVersion) -> list[str]:
    """What changed between two versions, option by option (matched by tier), in sentences."""
    before = {o.tier: o for o in old.options.all()}
    after = {o.tier: o for o in new.options.all()}
    changes: list[str] = []
    for tier, option in after.items():
        was = before.get(tier)
        if was is None:
            changes.append(f"Added the {option.label} option: {format_money(option.total)} total.")
            continue
        prefix = f"{option.label}: " if len(after) > 1 else ""
        changes += [
            prefix + change.summary
            for change in diff(terms.option_breakdown(was), terms.option_breakdown(option))
            # Lines and the two figures a customer decides on; net, tax and balance follow from them.
            if change.kind != "figure_changed" or change.subject in ("total", "deposit", "discount_amount")
        ]
    changes += [f"Removed the {o.label} option." for tier, o in before.items() if tier not in after]
    if old.valid_until != new.valid_until:
        changes.append(f"Valid until {new.valid_until:%d %b %Y} (was {old.valid_until:%d %b %Y}).")
    if old.notes != new.notes:
        changes.append("Notes changed.")
    return changes


def quote_revise(*, bid: Bid, actor: User, quote: QuoteInput) -> QuoteVersion:
    """A new version of the tradesperson's quote, before the customer decides. Emits ``bid.revised`` and ``quote.published``."""
    today = timezone.localdate()
    tax_rate = terms.business_tax_rate(bid.tradesperson_id)
    breakdowns = _check_quote(quote, today, tax_rate=tax_rate)
    with transaction.atomic():
        bid = job_services.bid_revise(
            bid=bid, actor=actor, amount=bid_amount(breakdowns), message=quote.message or None, earliest_start=quote.earliest_start
        )
        previous = latest_version(bid)
        number = previous.number + 1 if previous else 1
        version = _save_version(bid, number, quote, breakdowns, today, tax_rate)
        changes = version_changes(previous, version) if previous else []
        emit_many([_published(bid, version, changes)])
    return version


# --- acceptance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    """What the customer is about to accept, priced: checked before any money is held."""

    job: Job
    bid: Bid
    version: QuoteVersion
    option: QuoteOption
    breakdown: Breakdown
    promo_code: str


def _refuse(message: str, code: str, kind: Refusal = Refusal.CONFLICT) -> ServiceError:
    return ServiceError(message, code=code, kind=kind)


def _check_acceptance(*, job: Job, bid: Bid, actor: User, version_number: int, tier: str, promo_code: str) -> Acceptance:
    """Every rule of acceptance, read-only. Run before authorising and again under the locks."""
    if job.customer_id != actor.pk:
        raise _refuse("Only the customer who posted this job can accept a quote.", "forbidden", Refusal.FORBIDDEN)
    if bid.job_id != job.pk:
        raise _refuse("That bid is for another job.", "bid_not_on_job", Refusal.INVALID)
    if job.status != Job.Status.OPEN:
        raise _refuse(f"This job is {job.get_status_display().lower()}; a quote can no longer be accepted.", "job_closed")
    if bid.status not in (Bid.Status.ACTIVE, Bid.Status.SHORTLISTED):
        raise _refuse(f"This bid is {bid.get_status_display().lower()} and cannot be accepted.", "bid_not_open")
    version = latest_version(bid)
    if version is None:
        raise _refuse("This bid has no itemised quote to accept.", "no_quote")
    if version.number != version_number:
        raise _refuse(
            f"The tradesperson revised this quote to version {version.number}; review the changes and accept that one.", "quote_changed"
        )
    if version.valid_until < timezone.localdate(timezone=zoneinfo.ZoneInfo(actor.time_zone)):
        raise _refuse(f"This quote expired on {version.valid_until:%d %b %Y}; ask the tradesperson to revise it.", "quote_expired")
    option = version.options.filter(tier=tier).first()
    if option is None:
        raise _refuse("That option is not part of this quote.", "no_such_option", Refusal.INVALID)
    breakdown, code = option_price(option, customer=actor, trade=job.trade, promo_code=promo_code)
    return Acceptance(job, bid, version, option, breakdown, code)


def option_price(option: QuoteOption, *, customer: User, trade: Trade, promo_code: str = "") -> tuple[Breakdown, str]:
    """An option's figures with the customer's promo code applied, and the code as stored ("" for none).

    A read: nothing is reserved (``quote_accept`` redeems the code under its lock). Raises the
    promo's refusals (``quotes.promos``) or ``promo_min_spend`` (400).
    """
    promo = None
    code = promo_code.strip()
    if code:
        before_promo = option.subtotal - option.discounts_total
        tradesperson_id = Bid.objects.filter(quote_versions=option.version_id).values_list("tradesperson_id", flat=True).first()
        promo = promo_to_pricing(
            promo_check(code=code, customer=customer, trade=trade, amount=before_promo, tradesperson_id=tradesperson_id)
        )
    breakdown = terms.option_breakdown(option, promo=promo)
    if promo is not None and not breakdown.promo_applied:
        raise _refuse(breakdown.promo_reason, "promo_min_spend", Refusal.INVALID)
    return breakdown, promo.code if promo else ""


def acceptance_key(*, job: Job, bid: Bid, version_number: int, tier: str, card_token: str, client_key: str) -> str:
    """The deposit authorisation's idempotency key: the client's key, or one derived from what is accepted.

    Accepting the same thing with the same card twice (a double click, a retried request) gives
    the same key, so the gateway holds the deposit once.
    """
    basis = client_key.strip() or f"{bid.pk}:v{version_number}:{tier}:{hashlib.sha256(card_token.encode()).hexdigest()[:16]}"
    return f"job:{job.pk}:deposit:{basis}"[:100]


def quote_accept(
    *,
    job: Job,
    bid: Bid,
    actor: User,
    version_number: int,
    tier: str = QuoteOption.Tier.STANDARD,
    card_token: str,
    promo_code: str = "",
    expected_total: Decimal | None = None,
    idempotency_key: str = "",
    then: Callable[[Job], object] | None = None,
) -> QuoteAcceptance:
    """Accept one option of the bid's latest quote version, hold the deposit and award the job.

    Idempotent: accepting what is already accepted (same bid, version and option) returns the
    existing acceptance; the deposit is held once. A declined card raises a 402 and leaves the
    job open. ``expected_total``, when given, must equal the server's total (the page the
    customer saw is not stale); it is a check, never an input. ``then``: more work that must
    commit with the acceptance or not at all (booking a fixed-price service books its appointment
    here: a slot taken meanwhile rolls the acceptance back and releases the deposit).
    """
    existing = QuoteAcceptance.objects.filter(job=job).select_related("version", "option").first()
    if existing is not None:
        if (existing.bid_id, existing.version.number, existing.option.tier, existing.customer_id) == (
            bid.pk,
            version_number,
            tier,
            actor.pk,
        ):
            return existing
        raise _refuse("This job's quote has already been accepted.", "already_accepted")
    job = Job.objects.select_related("trade").get(pk=job.pk)
    bid = Bid.objects.get(pk=bid.pk)
    plan = _check_acceptance(job=job, bid=bid, actor=actor, version_number=version_number, tier=tier, promo_code=promo_code)
    if expected_total is not None and expected_total != plan.breakdown.total:
        raise _refuse(
            f"The total is now {format_money(plan.breakdown.total)}, not {format_money(expected_total)}; review the quote again.",
            "total_changed",
        )

    key = acceptance_key(job=job, bid=bid, version_number=version_number, tier=tier, card_token=card_token, client_key=idempotency_key)
    hold = payments.deposit_authorize(job=job, customer=actor, amount=plan.breakdown.deposit, card_token=card_token, key=key)
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update(of=("self",)).select_related("trade").get(pk=job.pk)
            bid = Bid.objects.select_for_update().get(pk=bid.pk)
            plan = _check_acceptance(job=job, bid=bid, actor=actor, version_number=version_number, tier=tier, promo_code=promo_code)
            acceptance = _record_acceptance(plan, actor)
            # The bid is now worth what the customer agreed to pay for the option they chose (job.awarded carries it).
            Bid.objects.filter(pk=bid.pk).update(amount=plan.breakdown.total)
            job_services.job_award(job=job, bid=bid, actor=actor)
            payments.payment_open(acceptance=acceptance, hold=hold, card_token=card_token)
            if then is not None:
                then(job)
    except Exception:
        payments.deposit_release_unused(hold)
        raise
    return acceptance


def _record_acceptance(plan: Acceptance, actor: User) -> QuoteAcceptance:
    figures = plan.breakdown
    redemption = None
    if plan.promo_code:
        redemption = promo_redeem(
            code=plan.promo_code,
            customer=actor,
            trade=plan.job.trade,
            amount=plan.option.subtotal - plan.option.discounts_total,
            reference=f"job:{plan.job.pk}",
            tradesperson_id=plan.bid.tradesperson_id,
        )
    now = timezone.now()
    acceptance = QuoteAcceptance.objects.create(
        job=plan.job,
        bid=plan.bid,
        version=plan.version,
        option=plan.option,
        customer=actor,
        tradesperson_id=plan.bid.tradesperson_id,
        promo_redemption=redemption,
        promo_code=plan.promo_code,
        subtotal=figures.subtotal,
        discounts_total=figures.discounts_total,
        promo_amount=figures.promo_amount,
        promo_funded_by=figures.promo_funded_by,
        net=figures.net,
        tax=figures.tax,
        total=figures.total,
        platform_fee=figures.platform_fee,
        fee_charged=figures.fee_charged,
        payout=figures.payout,
        deposit=figures.deposit,
        balance=figures.balance,
        tax_rate=terms.version_tax_rate(plan.version),
        platform_fee_rate=terms.policy(tax_rate=terms.version_tax_rate(plan.version)).platform_fee_rate,
        accepted_at=now,
    )
    QuoteVersion.objects.filter(pk=plan.version.pk, accepted_at__isnull=True).update(accepted_at=now)
    emit_many(
        [
            PendingEvent(
                ev.QUOTE_ACCEPTED,
                plan.job.pk,
                {
                    "job_id": plan.job.pk,
                    "bid_id": plan.bid.pk,
                    "tradesperson_id": plan.bid.tradesperson_id,
                    "version": plan.version.number,
                    "tier": plan.option.tier,
                    "net": str(figures.net),
                    "tax": str(figures.tax),
                    "total": str(figures.total),
                    "deposit": str(figures.deposit),
                    "balance": str(figures.balance),
                    "platform_fee": str(figures.platform_fee),
                    "payout": str(figures.payout),
                    "promo_code": plan.promo_code,
                    "promo_amount": str(figures.promo_amount),
                },
                actor.pk,
            )
        ]
    )
    return acceptance
