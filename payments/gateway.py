"""The payment gateway boundary: the interface an adapter implements and what its results and errors mean.

Card data never touches our database. The browser gives card details to the processor and we get
back a token (``tok_...``); every call here takes that token, never a card number. Two adapters
simulate a processor and move no money: :class:`SimulatedGateway` keeps everything in memory (one
process, for unit tests), ``gateway_simulator.gateway.DatabaseSimulatedGateway`` keeps the same
state in the database, shared by every process and surviving restarts. Both follow the rules in
"the simulated processor's rules" below.

What every adapter (:class:`PaymentGateway`) promises:

- Amounts are ``Decimal`` pounds, more than zero, at most two decimal places (see
  :func:`payments.simulated_ledger.payment_amount`); a float raises ``TypeError``. Results carry
  amounts with exactly two places.
- A decline is a result (``ok=False, status="declined"``, the decline code in ``message``), not
  an exception.
- A transient failure (timeout, outage, 5xx) raises :class:`GatewayUnavailable`: nothing is known
  to have happened, so retry later with the same idempotency key.
- A request that can never succeed (capture more than was authorised, void a captured payment,
  reuse an idempotency key with other parameters, send a card number instead of a token) raises
  :class:`GatewayRequestError`, a ``ValueError`` with a stable ``code``. Retrying will not help.
- Idempotency: a repeated call with the same key and the same parameters returns the first result
  and acts once.
- No message (exceptions or results) repeats a token, reference or id the caller passed in, so
  nothing a caller sends by mistake is copied into logs. This module logs nothing.

Webhook signing is in :mod:`payments.webhooks`, the simulated processor in :mod:`payments.simulator`,
card-number detection in :mod:`marketplace.cards`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from marketplace.cards import has_card_length_digit_run

GatewayStatus = Literal["authorized", "captured", "refunded", "voided", "declined", "retry"]
GatewayErrorCode = Literal[
    "card_number_sent", "bad_argument", "bad_amount", "idempotency_key_reused", "unknown_authorization", "unknown_charge", "not_allowed"
]

SUCCESS_STATUSES: frozenset[GatewayStatus] = frozenset({"authorized", "captured", "refunded", "voided"})
CARD_NUMBER_REFUSED = "send a token, never a card number"


# --- the interface ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """What the gateway answered.

    ``ok`` is true exactly for ``authorized``, ``captured``, ``refunded`` and ``voided``.
    ``gateway_id`` is the gateway's id for what the call made or acted on: the authorization
    (also for a decline), the charge (pass it to ``refund``), the refund, or the voided
    authorization. ``amount`` is the amount this call concerned. ``message`` is the decline code
    for a decline (``card_declined``, ``insufficient_funds``, ``unknown_token``), otherwise a
    short sentence; it never holds card data. ``retryable`` is true exactly for ``retry``: an
    adapter's soft decline that may succeed later with the same idempotency key (the simulated
    gateway raises :class:`GatewayUnavailable` instead and never answers ``retry``).
    """

    ok: bool
    status: GatewayStatus
    gateway_id: str
    amount: Decimal
    message: str
    retryable: bool

    def __post_init__(self) -> None:
        if self.ok != (self.status in SUCCESS_STATUSES):
            raise ValueError(f"A {self.status} result must have ok={self.status in SUCCESS_STATUSES}.")
        if self.retryable != (self.status == "retry"):
            raise ValueError(f"A {self.status} result must have retryable={self.status == 'retry'}.")


class GatewayUnavailable(Exception):
    """The gateway could not be reached or failed transiently. Nothing is known to have happened: retry later with the same key."""


class GatewayRequestError(ValueError):
    """A request the gateway will never accept; ``code`` is stable. The message never repeats what the caller sent."""

    def __init__(self, code: GatewayErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: GatewayErrorCode = code


class PaymentGateway(Protocol):
    """A card processor adapter. Errors and idempotency are described in the module docstring."""

    name: str

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str, reference: str) -> GatewayResult:
        """Hold ``amount`` on the card behind ``token``; ``reference`` is our payment's id, for the gateway's records."""
        ...

    def capture(self, *, authorization_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Take up to the authorised amount, once; the rest of the hold is released. The result's ``gateway_id`` is the charge."""
        ...

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Give back part or all of a charge; refunds may repeat but never total more than was captured."""
        ...

    def void(self, *, authorization_id: str, idempotency_key: str) -> GatewayResult:
        """Release an authorization that was never captured."""
        ...


def _refuse_card_numbers(token: str) -> None:
    """A token never holds 13 or more digits in a row (spaces or dashes allowed), Luhn or not: that is a card number, refused unread."""
    if has_card_length_digit_run(token):
        # No "from" and no number in the message: the exception must not carry the digits anywhere.
        raise GatewayRequestError("card_number_sent", CARD_NUMBER_REFUSED)
