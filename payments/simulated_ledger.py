"""The payment state machine and ledger: which events a payment may take, and what its amounts may be.

Pure Python (no models, no database). A deposit is authorised when a quote is accepted, captured
on completion, refundable afterwards, and voided if the job is cancelled before capture:

    requires_authorization:       authorize_ok -> authorized, authorize_declined -> failed
    authorized:                   capture -> captured, void -> voided
    captured, partially_refunded: refund_partial -> partially_refunded, refund_full -> refunded

``refunded``, ``voided`` and ``failed`` are final: a customer who tries another card starts a new
payment. :data:`TRANSITIONS` is the whole machine, as data; :func:`apply` reads it.

:class:`PaymentLedger` is a payment's state together with its amounts. It is immutable: each method
returns a new ledger or raises, so a refused event never leaves a half-changed ledger behind. It
guarantees ``0 <= refunded <= captured <= authorized``, every amount with exactly two decimal
places, and that the state agrees with the amounts (``refunded`` exactly when
``refunded == captured > 0``).

Money is ``Decimal`` pounds, as in :mod:`quotes.pricing`: at most two decimal places (sub-penny is
refused, not rounded), floats refused with ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, Overflow, localcontext
from typing import Literal, get_args

from marketplace.money import AMOUNT_CEILING

PaymentState = Literal["requires_authorization", "authorized", "captured", "partially_refunded", "refunded", "voided", "failed"]
PaymentEvent = Literal["authorize_ok", "authorize_declined", "capture", "refund_partial", "refund_full", "void"]
PaymentAmountErrorCode = Literal[
    "not_finite", "not_positive", "negative", "sub_penny", "too_large", "exceeds_authorized", "exceeds_refundable", "inconsistent"
]

STATES: tuple[PaymentState, ...] = get_args(PaymentState)
EVENTS: tuple[PaymentEvent, ...] = get_args(PaymentEvent)
INITIAL_STATE: PaymentState = "requires_authorization"

TRANSITIONS: Mapping[PaymentState, Mapping[PaymentEvent, PaymentState]] = {
    "requires_authorization": {"authorize_ok": "authorized", "authorize_declined": "failed"},
    "authorized": {"capture": "captured", "void": "voided"},
    "captured": {"refund_partial": "partially_refunded", "refund_full": "refunded"},
    "partially_refunded": {"refund_partial": "partially_refunded", "refund_full": "refunded"},
    "refunded": {},
    "voided": {},
    "failed": {},
}
FINAL_STATES: frozenset[PaymentState] = frozenset(state for state in STATES if not TRANSITIONS[state])

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")
# Sums of amounts up to the ceiling are exact at this precision; Inexact is trapped to prove it.
_EXACT = Context(prec=40, rounding=ROUND_HALF_UP, traps=[Inexact, InvalidOperation, Overflow])


class IllegalPaymentTransition(Exception):
    """An event the payment's state does not allow (capture a voided payment, refund before capture...)."""

    def __init__(self, state: PaymentState, event: PaymentEvent) -> None:
        allowed = ", ".join(TRANSITIONS[state]) or "nothing (it is final)"
        super().__init__(f"A payment that is {state} cannot take the event {event}; from {state} it can take: {allowed}.")
        self.state: PaymentState = state
        self.event: PaymentEvent = event


class PaymentAmountError(ValueError):
    """An amount that is not money (sub-penny, not positive...) or more than the ledger allows. ``code`` is stable."""

    def __init__(self, code: PaymentAmountErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: PaymentAmountErrorCode = code


def apply(state: PaymentState, event: PaymentEvent) -> PaymentState:
    """The state after ``event``. Pure. Raises :class:`IllegalPaymentTransition` if ``state`` does not allow it.

    An unknown state or event name (a typo, not a payment's history) raises ``ValueError``.
    """
    if state not in TRANSITIONS:
        raise ValueError(f"{state!r} is not a payment state; use one of: {', '.join(STATES)}.")
    if event not in EVENTS:
        raise ValueError(f"{event!r} is not a payment event; use one of: {', '.join(EVENTS)}.")
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise IllegalPaymentTransition(state, event) from None


def _money(value: object, field: str, *, positive: bool) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{field} is a float ({value!r}); floats cannot hold pence exactly. Pass a Decimal, e.g. Decimal('{value}').")
    if not isinstance(value, Decimal):
        raise TypeError(f"{field} must be a Decimal, not {type(value).__name__}.")
    if not value.is_finite():
        raise PaymentAmountError("not_finite", f"{field} must be a finite amount, not {value}.")
    if positive and value <= 0:
        raise PaymentAmountError("not_positive", f"{field} is {value}; it must be more than zero.")
    if value < 0:
        raise PaymentAmountError("negative", f"{field} is {value}; it cannot be negative.")
    if value > AMOUNT_CEILING:
        raise PaymentAmountError("too_large", f"{field} is {value}; the most a payment may be is {AMOUNT_CEILING:,}.")
    try:
        return value.quantize(PENNY, context=_EXACT)
    except Inexact:
        raise PaymentAmountError("sub_penny", f"{field} is {value}; amounts are pounds and pence, at most two decimal places.") from None


def payment_amount(value: object, field: str = "amount") -> Decimal:
    """A positive amount of money, returned with exactly two decimal places.

    Raises ``TypeError`` for a float or any non-Decimal, :class:`PaymentAmountError` for a
    non-finite, zero, negative, sub-penny or absurdly large amount. Never rounds.
    """
    return _money(value, field, positive=True)


@dataclass(frozen=True, slots=True)
class PaymentLedger:
    """A payment's state and amounts (pounds, exactly two places). Immutable: methods return a new ledger.

    Build one from stored figures with ``PaymentLedger(state, authorized, captured, refunded)``:
    inconsistent figures raise :class:`PaymentAmountError` (code ``inconsistent``).
    """

    state: PaymentState = INITIAL_STATE
    authorized: Decimal = ZERO
    captured: Decimal = ZERO
    refunded: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.state not in TRANSITIONS:
            raise ValueError(f"{self.state!r} is not a payment state; use one of: {', '.join(STATES)}.")
        for name in ("authorized", "captured", "refunded"):
            # Frozen: normalise to exactly two places the one way a frozen dataclass allows.
            object.__setattr__(self, name, _money(getattr(self, name), name, positive=False))
        authorized, captured, refunded = self.authorized, self.captured, self.refunded
        consistent = {
            "requires_authorization": authorized == captured == refunded == 0,
            "failed": authorized == captured == refunded == 0,
            "authorized": authorized > 0 and captured == refunded == 0,
            "voided": authorized > 0 and captured == refunded == 0,
            "captured": 0 < captured <= authorized and refunded == 0,
            "partially_refunded": 0 < refunded < captured <= authorized,
            "refunded": 0 < refunded == captured <= authorized,
        }[self.state]
        if not consistent:
            raise PaymentAmountError(
                "inconsistent",
                f"A {self.state} payment cannot have authorized {authorized}, captured {captured}, refunded {refunded}.",
            )

    @property
    def refundable(self) -> Decimal:
        """What may still be refunded: captured less refunded."""
        with localcontext(_EXACT):
            return self.captured - self.refunded

    def _with(self, event: PaymentEvent, **amounts: Decimal) -> PaymentLedger:
        return PaymentLedger(
            state=apply(self.state, event),
            authorized=amounts.get("authorized", self.authorized),
            captured=amounts.get("captured", self.captured),
            refunded=amounts.get("refunded", self.refunded),
        )

    def authorize(self, amount: Decimal) -> PaymentLedger:
        """The gateway authorised ``amount`` (held on the card, not yet taken)."""
        amount = payment_amount(amount)
        return self._with("authorize_ok", authorized=amount)

    def decline(self) -> PaymentLedger:
        """The gateway declined the authorisation: the payment has failed, with nothing held."""
        return self._with("authorize_declined")

    def capture(self, amount: Decimal) -> PaymentLedger:
        """Take ``amount`` (at most the authorised amount) once; any rest of the authorisation is released."""
        amount = payment_amount(amount)
        apply(self.state, "capture")
        if amount > self.authorized:
            raise PaymentAmountError(
                "exceeds_authorized", f"Cannot capture {amount}: only {self.authorized} was authorised. Capture at most that."
            )
        return self._with("capture", captured=amount)

    def refund(self, amount: Decimal) -> PaymentLedger:
        """Give back ``amount`` of what was captured; refunds may be partial and repeated, never more than captured in total."""
        amount = payment_amount(amount)
        apply(self.state, "refund_partial")
        refundable = self.refundable
        if amount > refundable:
            raise PaymentAmountError(
                "exceeds_refundable",
                f"Cannot refund {amount}: {self.captured} was captured and {self.refunded} already refunded, so at most {refundable}.",
            )
        with localcontext(_EXACT):
            refunded = self.refunded + amount
        return self._with("refund_full" if amount == refundable else "refund_partial", refunded=refunded)

    def void(self) -> PaymentLedger:
        """Release an authorisation that was never captured (the job was cancelled before completion)."""
        return self._with("void")
