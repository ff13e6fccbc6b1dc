"""What a payout statement shows, shaped once for the page (``templates/payments/statement.html``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .models import Payment, Payout, PayoutItem

STATUS_SENTENCES = {
    Payout.Status.PENDING: "We're sending this payout to your bank.",
    Payout.Status.IN_TRANSIT: "On its way to your bank: it usually arrives within one working day.",
    Payout.Status.PAID: "Paid into your bank account.",
    Payout.Status.FAILED: "Your bank could not accept this payout. The money is still yours: check your bank details; "
    "our team will send it again.",
}


@dataclass(frozen=True)
class PromoFunding:
    """Who paid a promo discount on a job, when known (``quotes`` promo funding; see :func:`promo_funding`)."""

    discount: Decimal
    paid_by_platform: bool  # True: TradeLink paid it, so it is not taken from the tradesperson's earnings


@dataclass(frozen=True)
class StatementLine:
    job_id: int
    job_title: str
    gross: Decimal
    refunded: Decimal
    platform_fee: Decimal
    previously_paid: Decimal
    net: Decimal
    recovery: bool  # a refund after an earlier payout, recovered here
    tip: Decimal | None  # no tips are recorded yet; shown when they are
    promo: PromoFunding | None

    @property
    def net_abs(self) -> Decimal:
        return abs(self.net)


def promo_funding(payment: Payment) -> PromoFunding | None:
    """Who paid the promo discount on this payment's job, from the frozen acceptance; None without a promo.

    ``promo_funded_by`` is "platform" (TradeLink paid it from its fee and beyond: the payout is what it
    would have been without the code) or "business" (the tradesperson's own code: it came off the net).
    """
    acceptance = payment.acceptance
    if not acceptance.promo_amount or not acceptance.promo_funded_by:
        return None
    return PromoFunding(discount=acceptance.promo_amount, paid_by_platform=acceptance.promo_funded_by == "platform")


def statement_line(item: PayoutItem) -> StatementLine:
    payment = item.payment
    return StatementLine(
        job_id=payment.job_id,
        job_title=payment.job.title,
        gross=item.gross,
        refunded=item.refunded,
        platform_fee=item.platform_fee,
        previously_paid=item.previously_paid,
        net=item.amount,
        recovery=item.amount < 0,
        tip=None,
        promo=promo_funding(payment),
    )


def statement_lines(payout: Payout) -> list[StatementLine]:
    items = payout.items.select_related("payment__job", "payment__acceptance").order_by("id")
    return [statement_line(item) for item in items]
