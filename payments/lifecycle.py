"""The payment state machine: which status may follow which (as ``jobs/lifecycle.py`` is for jobs).

    deposit_held -> awaiting_approval | cancelled   (the work is marked completed; the customer signs off)
    awaiting_approval -> completing | disputed      (approved, by the customer or when the window ends; or a problem)
    disputed -> completing                          (staff resolved it: release, partial or full refund)
    completing -> paid | partially_refunded | refunded | balance_failed
    balance_failed -> paid | partially_refunded     (the customer pays the balance with another card)
    paid | cancelled | partially_refunded -> partially_refunded | refunded


The payments executor makes the gateway calls the services record as intents (``payments/executor.py``):
``completing`` is "the balance is being charged" (approved by the customer or when the window
ended, or a dispute resolved; a dispute resolved with a refund ends it partly or fully refunded,
as less is charged) and ``cancelling`` is "the cancellation fee is being taken or the hold
released". A payment still ``deposit_held`` may also go straight to ``completing`` (one completed
before sign-off existed). ``refunded`` is final. :func:`move` is the only way
``payments/services.py`` changes ``Payment.status``: an illegal step raises a 409 (``illegal_transition``)
and leaves the payment as it was.
"""

from __future__ import annotations

from marketplace.errors import Refusal, ServiceError

from .models import Payment

S = Payment.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DEPOSIT_HELD: frozenset({S.AWAITING_APPROVAL, S.COMPLETING, S.PAID, S.BALANCE_FAILED, S.CANCELLING, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.COMPLETING, S.DISPUTED}),
    S.DISPUTED: frozenset({S.COMPLETING}),
    S.COMPLETING: frozenset({S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED, S.BALANCE_FAILED}),
    S.BALANCE_FAILED: frozenset({S.PAID, S.PARTIALLY_REFUNDED}),
    S.PAID: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.CANCELLING: frozenset({S.CANCELLED}),
    S.CANCELLED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),  # a cancellation fee can be given back
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
}

# Nothing more will move on its own: the payment can leave the open-payments view (payment.settled).
SETTLED: frozenset[str] = frozenset({S.PAID, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED})


class IllegalPaymentStep(ServiceError):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(
            f"A payment that is {S(current).label.lower()} cannot become {S(wanted).label.lower()}.",
            code="illegal_transition",
            kind=Refusal.CONFLICT,
        )


def can_move(current: str, wanted: str) -> bool:
    return wanted in TRANSITIONS[current]


def move(payment: Payment, wanted: str) -> None:
    """Set ``payment.status`` to ``wanted`` if the machine allows it (the caller saves)."""
    if not can_move(payment.status, wanted):
        raise IllegalPaymentStep(payment.status, wanted)
    payment.status = wanted
