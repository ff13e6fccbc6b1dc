"""Reading payments: a tradesperson's payout balance and history, one payout with who may see it, and a job's payment
with its dispute for the sign-off panel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.http import Http404

from marketplace.accounts.models import User

from .models import Dispute, Payment, Payout
from .payouts import OPEN, ZERO, in_flight, minimum, owed_payments


@dataclass(frozen=True)
class PayoutBalance:
    owed: Decimal  # not in any payout yet; negative while a refund after a payout waits to be recovered
    on_the_way: Decimal  # in pending or in-transit payouts
    paid: Decimal  # paid out, all time
    minimum: Decimal  # the next run pays the owed balance only from this much

    @property
    def owed_abs(self) -> Decimal:
        return abs(self.owed)


def payout_balance(*, tradesperson_id: int) -> PayoutBalance:
    payments = list(owed_payments(tradesperson_id).values_list("pk", "payout_due"))
    flying = in_flight([pk for pk, _ in payments])
    owed = sum((due - flying.get(pk, ZERO) for pk, due in payments), ZERO)
    payouts = Payout.objects.filter(tradesperson_id=tradesperson_id)
    return PayoutBalance(
        owed=owed,
        on_the_way=payouts.filter(status__in=OPEN).aggregate(s=Sum("amount"))["s"] or ZERO,
        paid=payouts.filter(status=Payout.Status.PAID).aggregate(s=Sum("amount"))["s"] or ZERO,
        minimum=minimum(),
    )


def payouts_of(*, tradesperson_id: int) -> QuerySet[Payout]:
    return Payout.objects.filter(tradesperson_id=tradesperson_id).order_by("-created_at", "-id")


def payout_for_viewer(*, viewer: User, payout_id: int) -> Payout:
    """The payout, for its tradesperson and staff; anyone else gets a 404 (as if it did not exist)."""
    payout = Payout.objects.select_related("tradesperson").filter(pk=payout_id).first()
    if payout is None or not (viewer.is_staff or payout.tradesperson_id == viewer.pk):
        raise Http404("No such payout.")
    return payout


def payment_for_party(*, job_id: int, viewer: User) -> Payment | None:
    """The job's payment if ``viewer`` is its customer or its tradesperson; None for anyone else."""
    return (
        Payment.objects.select_related("acceptance")
        .filter(job_id=job_id)
        .filter(Q(customer_id=viewer.pk) | Q(tradesperson_id=viewer.pk))
        .first()
    )


def dispute_for(payment: Payment) -> Dispute | None:
    return Dispute.objects.filter(payment=payment).first()
