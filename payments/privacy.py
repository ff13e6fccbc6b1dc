"""What the payments app holds about a person (registered with marketplace.privacy): payments, payouts and
disputes.  Amounts, dates and statuses stay (tax and dispute records); a customer's dispute description
becomes "[removed]".  Erasure waits while money is in flight."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import Dispute, Payment, Payout

IN_FLIGHT = (
    Payment.Status.DEPOSIT_HELD,
    Payment.Status.AWAITING_APPROVAL,
    Payment.Status.DISPUTED,
    Payment.Status.COMPLETING,
    Payment.Status.BALANCE_FAILED,
    Payment.Status.CANCELLING,
)


def _export(user: User) -> dict[str, Any]:
    mine = Q(customer=user) | Q(tradesperson=user)
    return {
        "payments": list(Payment.objects.filter(mine).values("id", "job_id", "status", "currency", "created_at")),
        "payouts": list(Payout.objects.filter(tradesperson=user).values("id", "amount", "status", "created_at")),
        "disputes": list(Dispute.objects.filter(opened_by=user).values("payment_id", "description", "staff_note", "opened_at")),
    }


def _refuse(user: User) -> str | None:
    if Payment.objects.filter(Q(customer=user) | Q(tradesperson=user), status__in=IN_FLIGHT).exists():
        return "A payment of yours is still in progress: once it is paid, refunded or cancelled you can delete your account."
    return None


def _erase(user: User, erasure: Erasure) -> None:
    disputes = Dispute.objects.filter(opened_by=user)
    erasure.removed(*disputes.values_list("description", flat=True))
    disputes.update(description=REMOVED)


register(PersonalData("payments", export=_export, erase=_erase, refuse=_refuse))
