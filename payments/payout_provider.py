"""The payout provider boundary: the interface an adapter implements to send money to a tradesperson's bank.

Payouts are asynchronous, as with real providers (Stripe Connect, Adyen, a bank's API): a request
is accepted at once and reported later as on its way, then paid or failed. We ask about it
(:meth:`PayoutProvider.status`) from the clock; ``payments/payouts.py`` records what it hears.

What every adapter promises:

- ``send`` is idempotent per ``idempotency_key``: the same key and parameters return the first
  answer and pay once; the same key with other parameters raises :class:`PayoutRequestError`.
- A transient failure (timeout, outage) raises :class:`PayoutProviderUnavailable`: nothing is known
  to have happened, so ask again later with the same key.
- Amounts are ``Decimal`` pounds, more than zero, two decimal places.
- Statuses only move forward: pending -> in_transit -> paid | failed (a provider may skip in_transit).

The default adapter, :class:`payments.payout_simulator.SimulatedPayoutProvider`, moves no money.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

PayoutProviderStatus = Literal["pending", "in_transit", "paid", "failed"]


@dataclass(frozen=True, slots=True)
class PayoutReport:
    """What the provider says about a payout: its reference, status and, when failed, a short reason code."""

    reference: str
    status: PayoutProviderStatus
    failure_reason: str = ""


class PayoutProviderUnavailable(Exception):
    """The provider could not be reached: nothing is known to have happened; ask again later with the same key."""


class PayoutRequestError(ValueError):
    """A request the provider will never accept (bad amount, key reused with other parameters, unknown reference)."""


class PayoutProvider(Protocol):
    name: str

    def send(self, *, account: str, amount: Decimal, currency: str, idempotency_key: str, reference: str) -> PayoutReport:
        """Ask the provider to pay ``amount`` to ``account`` (our ``acct_<user id>``); ``reference`` is our payout's id."""
        ...

    def status(self, *, reference: str) -> PayoutReport:
        """What has happened to the payout the provider knows as ``reference`` (the reference ``send`` returned)."""
        ...
