"""The SIMULATED payout provider (no money moves): accepts a payout at once, reports it on its way after
``PAYOUTS["SIMULATOR_IN_TRANSIT_AFTER_S"]`` seconds and paid after ``SIMULATOR_ARRIVE_AFTER_S``, or failed
(``account_closed``) for an account listed in ``SIMULATOR_FAILING_ACCOUNTS``.

Its state (what it accepted, and when) is the provider's side, kept in the shared cache (Redis) with
no expiry, so the clock, the web process and a restarted clock all hear the same answers. Statuses
are worked out from the time it accepted the payout, so no process needs to move them along.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache

from payments.payout_provider import PayoutProviderStatus, PayoutReport, PayoutRequestError

_PREFIX = "payout-simulator"


class SimulatedPayoutProvider:
    """The default :class:`~payments.payout_provider.PayoutProvider` (see the module docstring)."""

    name = "simulated"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def send(self, *, account: str, amount: Decimal, currency: str, idempotency_key: str, reference: str) -> PayoutReport:
        if not isinstance(amount, Decimal) or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise PayoutRequestError("The amount must be a Decimal of pounds, more than zero, with at most two decimal places.")
        if not idempotency_key or not account:
            raise PayoutRequestError("A payout needs an account and an idempotency key.")
        fingerprint = hashlib.sha256(f"{account}|{amount:.2f}|{currency}|{reference}".encode()).hexdigest()
        provider_ref = "sim_po_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        record = {"reference": provider_ref, "fingerprint": fingerprint, "account": account, "accepted_at": self._clock()}
        # add() is atomic: two calls with one key race for one record, and the loser reads the winner's.
        cache.add(f"{_PREFIX}:key:{idempotency_key}", record, timeout=None)
        stored: dict[str, Any] = cache.get(f"{_PREFIX}:key:{idempotency_key}")
        if stored["fingerprint"] != fingerprint:
            raise PayoutRequestError("This idempotency key was first used for another payout; use a new key for a new payout.")
        cache.add(f"{_PREFIX}:ref:{provider_ref}", stored, timeout=None)
        return self._report(stored)

    def status(self, *, reference: str) -> PayoutReport:
        stored = cache.get(f"{_PREFIX}:ref:{reference}")
        if stored is None:
            raise PayoutRequestError("No such payout here; pass the reference that send returned.")
        return self._report(stored)

    def _report(self, stored: dict[str, Any]) -> PayoutReport:
        waited = self._clock() - float(stored["accepted_at"])
        status: PayoutProviderStatus = "pending"
        if waited >= settings.PAYOUTS["SIMULATOR_ARRIVE_AFTER_S"]:
            if stored["account"] in settings.PAYOUTS["SIMULATOR_FAILING_ACCOUNTS"]:
                return PayoutReport(stored["reference"], "failed", "account_closed")
            status = "paid"
        elif waited >= settings.PAYOUTS["SIMULATOR_IN_TRANSIT_AFTER_S"]:
            status = "in_transit"
        return PayoutReport(stored["reference"], status)
