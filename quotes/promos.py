"""Promo codes: the one place they are checked, redeemed and released.

:func:`promo_check` tells a customer whether a code applies (a read: it reserves nothing).
:func:`promo_redeem` is the binding version: it locks the code's row, checks again and records
the use, so two customers racing for the last use of a code cannot both get it.  The discount
itself comes from the pricing engine (``quotes.pricing``), so it follows the one rounding rule.

Who pays: a code with no ``business`` is the platform's (staff create them in the admin; the
platform pays the discount from its fee, the tradesperson's payout is untouched); a code a
business created (:func:`promo_create_for_business`) applies only to that tradesperson's quotes
and comes off their payout. :func:`promo_release` gives a use back (a job cancelled before payment).

Every refusal is a :class:`~marketplace.api_errors.ServiceError` with status 400 and a stable code:
``promo_unknown``, ``promo_inactive``, ``promo_not_started``, ``promo_expired``,
``promo_wrong_trade``, ``promo_wrong_business``, ``promo_below_min_spend``, ``promo_exhausted``, ``promo_already_used``;
and ``bad_amount`` / ``bad_reference`` for malformed input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from jobs.models import Trade
from jobs.services import money
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.money import format_money
from quotes.models import PromoCode, PromoRedemption, QuoteAcceptance
from quotes.pricing import AdjustmentKind, LineItem, PricingPolicy, Promo, PromoFunder, price

# The promo is priced on its own: no tax, fee or deposit, so the breakdown's promo figure is the discount.
_PROMO_ONLY = PricingPolicy(platform_fee_rate=Decimal(0), tax_rate=Decimal(0), deposit_kind="fixed", deposit_value=Decimal(0))
_KINDS: dict[str, AdjustmentKind] = {PromoCode.Kind.PERCENT: "percent", PromoCode.Kind.FIXED: "fixed"}


def _refuse(code: str, message: str) -> ServiceError:
    return ServiceError(message, code=code, kind=Refusal.INVALID)


def _pounds(amount: Decimal) -> str:
    return format_money(amount)


def _when(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def _check_amount(amount: Decimal) -> Decimal:
    amount = money(amount)
    if not 0 < amount <= _PROMO_ONLY.max_amount:
        raise _refuse("bad_amount", f"The amount must be more than {_pounds(Decimal(0))} and at most {_pounds(_PROMO_ONLY.max_amount)}.")
    return amount


def _normalise(code: str) -> str:
    return code.strip().upper()


def _find(code: str, queryset: QuerySet[PromoCode]) -> PromoCode:
    normalised = _normalise(code)
    promo = queryset.filter(code=normalised).first() if normalised else None
    if promo is None:
        shown = f" {normalised!r}" if normalised else ""
        raise _refuse("promo_unknown", f"There is no promo code{shown}. Check the spelling, or continue without a code.")
    return promo


def _check(promo: PromoCode, *, customer: User, trade: Trade, amount: Decimal, at: datetime, tradesperson_id: int | None) -> None:
    """Raise the first reason ``promo`` does not apply; cheap checks first, the per-customer count last."""
    code = promo.code
    if not promo.is_active:
        raise _refuse("promo_inactive", f"{code} is no longer available. Remove it to continue.")
    if at < promo.valid_from:
        raise _refuse("promo_not_started", f"{code} starts on {_when(promo.valid_from)}. Use it from then, or continue without it.")
    if promo.valid_until is not None and at >= promo.valid_until:
        raise _refuse("promo_expired", f"{code} expired on {_when(promo.valid_until)}. Remove it to continue.")
    if promo.trade_id is not None and promo.trade_id != trade.pk:
        raise _refuse("promo_wrong_trade", f"{code} is only for {promo.trade} jobs, not {trade}. Remove it to continue.")
    if promo.business_id is not None and tradesperson_id != promo.business_id:
        raise _refuse("promo_wrong_business", f"{code} is only for quotes from {promo.business}. Remove it to continue.")
    if amount < promo.min_spend:
        raise _refuse("promo_below_min_spend", f"Spend at least {_pounds(promo.min_spend)} to use {code}; this comes to {_pounds(amount)}.")
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        raise _refuse("promo_exhausted", f"{code} has been fully used up. Remove it to continue.")
    used = PromoRedemption.objects.filter(promo=promo, customer=customer).count()
    if used >= promo.max_uses_per_customer:
        times = "once" if promo.max_uses_per_customer == 1 else f"{promo.max_uses_per_customer} times"
        raise _refuse("promo_already_used", f"You have already used {code}; it can be used {times} per customer. Remove it to continue.")


def promo_check(
    *, code: str, customer: User, trade: Trade, amount: Decimal, tradesperson_id: int | None = None, at: datetime | None = None
) -> PromoCode:
    """The promo for ``code`` if ``customer`` may use it on ``amount`` of ``trade`` work at ``at`` (default now).

    ``tradesperson_id`` is who quoted the work: a business's code applies only to its own quotes.

    A read: it takes no lock and reserves nothing, so a code that passes may be gone a moment
    later; :func:`promo_redeem` is the binding check. Codes are matched case-insensitively.
    """
    amount = _check_amount(amount)
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("at must be timezone-aware (UTC).")
    promo = _find(code, PromoCode.objects.select_related("trade", "business"))
    _check(promo, customer=customer, trade=trade, amount=amount, at=at, tradesperson_id=tradesperson_id)
    return promo


def promo_to_pricing(promo: PromoCode) -> Promo:
    """The promo as the pricing engine takes it (``price(..., promo=...)``)."""
    funded_by: PromoFunder = "business" if promo.business_id is not None else "platform"
    return Promo(code=promo.code, kind=_KINDS[promo.kind], value=promo.value, min_spend=promo.min_spend, funded_by=funded_by)


def promo_discount(promo: PromoCode, amount: Decimal) -> Decimal:
    """What ``promo`` takes off ``amount``, computed by the pricing engine (capped at ``amount``, rounded half up once)."""
    breakdown = price([LineItem("other", "Quoted work", Decimal(1), amount)], policy=_PROMO_ONLY, promo=promo_to_pricing(promo))
    return breakdown.promo_amount


def promo_redeem(
    *, code: str, customer: User, trade: Trade, amount: Decimal, reference: str, tradesperson_id: int | None = None
) -> PromoRedemption:
    """Record that ``customer`` used ``code`` on ``reference`` (e.g. ``quote:7:v2``) and return the redemption.

    Race-safe: the promo's row is locked (SELECT ... FOR UPDATE) for the rest of the
    transaction, every rule is checked again under the lock, and ``uses`` is incremented in
    the database; of N customers racing for the last use, exactly one succeeds and the others
    get ``promo_exhausted``. Idempotent per (promo, customer, reference): a repeat returns the
    existing redemption (with its original discount) and counts nothing, even if the code has
    since expired or run out. Call it inside the transaction that saves the discounted quote.
    """
    amount = _check_amount(amount)
    reference = reference.strip()
    if not reference or len(reference) > 64:
        raise _refuse("bad_reference", "A redemption needs a reference of 1 to 64 characters, e.g. 'quote:7:v2'.")
    with transaction.atomic():
        promo = _find(code, PromoCode.objects.select_for_update(of=("self",)).select_related("trade", "business"))
        existing = PromoRedemption.objects.filter(promo=promo, customer=customer, reference=reference).first()
        if existing is not None:
            return existing
        _check(promo, customer=customer, trade=trade, amount=amount, at=timezone.now(), tradesperson_id=tradesperson_id)
        redemption = PromoRedemption.objects.create(
            promo=promo, customer=customer, reference=reference, amount=promo_discount(promo, amount)
        )
        PromoCode.objects.filter(pk=promo.pk).update(uses=F("uses") + 1)
        promo.refresh_from_db(fields=["uses"])
    return redemption


def promo_release(*, redemption: PromoRedemption) -> None:
    """Undo a redemption (e.g. the quote was cancelled before payment): delete it and give the use back.

    Takes the same row lock as :func:`promo_redeem`. Idempotent: releasing a redemption that is
    already gone changes nothing.
    """
    with transaction.atomic():
        # Lock first, as promo_redeem does, so a release and a redeem of the same code never interleave.
        list(PromoCode.objects.select_for_update().filter(pk=redemption.promo_id).values_list("pk", flat=True))
        deleted, _ = PromoRedemption.objects.filter(pk=redemption.pk).delete()
        if deleted:
            PromoCode.objects.filter(pk=redemption.promo_id).update(uses=F("uses") - 1)


def promo_create_for_business(
    *,
    business: User,
    code: str,
    kind: str,
    value: Decimal,
    min_spend: Decimal = Decimal("0.00"),
    valid_until: datetime | None = None,
    max_uses: int | None = None,
    description: str = "",
) -> PromoCode:
    """A code a tradesperson's business funds: it applies only to their quotes and its discount comes off their payout.

    Platform codes (paid by the platform) are created by staff in the admin. Refusals:
    ``forbidden`` (not a tradesperson), ``promo_code_taken``, ``promo_invalid`` (a bad code, kind or value).
    """
    if not business.is_tradesperson:
        raise ServiceError("Only a tradesperson can create promo codes for their business.", code="forbidden", kind=Refusal.FORBIDDEN)
    promo = PromoCode(
        code=_normalise(code),
        description=description[:200],
        kind=kind,
        value=value,
        min_spend=min_spend,
        valid_until=valid_until,
        max_uses=max_uses,
        business=business,
    )
    try:
        promo.full_clean()
    except ValidationError as exc:
        if "code" in exc.message_dict and PromoCode.objects.filter(code=promo.code).exists():
            raise _refuse("promo_code_taken", f"The code {promo.code} is taken; choose another.") from None
        first = next(iter(exc.message_dict.values()))[0]
        raise _refuse("promo_invalid", str(first)) from None
    promo.save()
    return promo


def promo_release_for_job(*, job_id: int) -> PromoRedemption | None:
    """Give back the promo use of a job cancelled before payment; the released redemption, or None if there was none.

    The acceptance keeps ``promo_code``, ``promo_amount`` and ``promo_funded_by`` as a record of
    what was agreed; only the link to the redemption goes, so the use counts again. Idempotent.
    """
    acceptance = QuoteAcceptance.objects.select_for_update().filter(job_id=job_id, promo_redemption__isnull=False).first()
    if acceptance is None or acceptance.promo_redemption is None:
        return None
    redemption = acceptance.promo_redemption
    acceptance.promo_redemption = None
    acceptance.save(update_fields=["promo_redemption"])
    promo_release(redemption=redemption)
    return redemption
