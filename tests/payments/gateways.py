"""Misbehaving gateways for executor tests, run by child processes through ``PAYMENTS_GATEWAY=tests.payments.gateways.<Name>``.

Both wrap the database simulator (so every process sees the same processor and its ledger) and
change only when they answer; they never move money differently.
"""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal
from pathlib import Path

from gateway_simulator.gateway import DatabaseSimulatedGateway
from payments.gateway import GatewayResult


class CrashAfterCaptureGateway(DatabaseSimulatedGateway):
    """Captures, then SIGKILLs its own process before the executor can record it, once: while ``GATEWAY_CRASH_MARKER`` exists."""

    def capture(self, *, authorization_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        result = super().capture(authorization_id=authorization_id, amount=amount, idempotency_key=idempotency_key)
        marker = Path(os.environ["GATEWAY_CRASH_MARKER"])
        if marker.exists():
            marker.unlink()
            os.kill(os.getpid(), signal.SIGKILL)  # the charge is made at the processor; nothing of it is recorded on our side
        return result


class HangingGateway(DatabaseSimulatedGateway):
    """Every capture hangs ``GATEWAY_HANG_S`` seconds before the processor acts (a provider that stops answering for a while)."""

    def capture(self, *, authorization_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        time.sleep(float(os.environ.get("GATEWAY_HANG_S", "30")))
        return super().capture(authorization_id=authorization_id, amount=amount, idempotency_key=idempotency_key)
