"""Promo codes: the one place they are checked, redeemed and released.

:func:`promo_check` tells a customer whether a code applies (a read: it reserves nothing).
:func:`promo_redeem` is the binding version: it locks the code's row, checks again and records
the use, so two customers racing for the last use of a code cannot both get it.  The discount
itself comes from the pricing engine (``quotes.pricing``), so it follows the one rounding rule.

Every refusal is a :class:`~marketplace.api_errors.ServiceError` with status 400 and a stable code:
``promo_unknown``, ``promo_inactive``, ``promo_not_started``, ``promo_expired``,
``promo_wrong_trade``, ``promo_below_min_spend``, ``promo_exhausted``, ``promo_already_used``;
and ``bad_amount`` / ``bad_reference`` for malformed input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from jobs.models import Trade
from jobs.services import money
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.money import format_money
from quotes.models import PromoCode, PromoRedemption
from quotes.pricing import AdjustmentKind, LineItem, PricingPolicy, Promo, price

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


def _check(promo: PromoCode, *, customer: User, trade: Trade, amount: Decimal, at: datetime) -> None:
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
    if amount < promo.min_spend:
        raise _refuse("promo_below_min_spend", f"Spend at least {_pounds(promo.min_spend)} to use {code}; this comes to {_pounds(amount)}.")
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        raise _refuse("promo_exhausted", f"{code} has been fully used up. Remove it to continue.")
    used = PromoRedemption.objects.filter(promo=promo, customer=customer).count()
    if used >= promo.max_uses_per_customer:
        times = "once" if promo.max_uses_per_customer == 1 else f"{promo.max_uses_per_customer} times"
        raise _refuse("promo_already_used", f"You have already used {code}; it can be used {times} per customer. Remove it to continue.")


def promo_check(*, code: str, customer: User, trade: Trade, amount: Decimal, at: datetime | None = None) -> PromoCode:
    """The promo for ``code`` if ``customer`` may use it on ``amount`` of ``trade`` work at ``at`` (default now).

    A read: it takes no lock and reserves nothing, so a code that passes may be gone a moment
    later; :func:`promo_redeem` is the binding check. Codes are matched case-insensitively.
    """
    amount = _check_amount(amount)
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("at must be timezone-aware (UTC).")
    promo = _find(code, PromoCode.objects.select_related("trade"))
    _check(promo, customer=customer, trade=trade, amount=amount, at=at)
    return promo


def promo_to_pricing(promo: PromoCode) -> Promo:
    """The promo as the pricing engine takes it (``price(..., promo=...)``)."""
    return Promo(code=promo.code, kind=_KINDS[promo.kind], value=promo.value, min_spend=promo.min_spend)


def promo_discount(promo: PromoCode, amount: Decimal) -> Decimal:
    """What ``promo`` takes off ``amount``, computed by the pricing engine (capped at ``amount``, rounded half up once)."""
    breakdown = price([LineItem("other", "Quoted work", Decimal(1), amount)], policy=_PROMO_ONLY, promo=promo_to_pricing(promo))
    return breakdown.promo_amount


def promo_redeem(*, code: str, customer: User, trade: Trade, amount: Decimal, reference: str) -> PromoRedemption:
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
        promo = _find(code, PromoCode.objects.select_for_update(of=("self",)).select_related("trade"))
        existing = PromoRedemption.objects.filter(promo=promo, customer=customer, reference=reference).first()
        if existing is not None:
            return existing
        _check(promo, customer=customer, trade=trade, amount=amount, at=timezone.now())
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
