"""The payments executor: makes the gateway calls that the payment services only record as intents.

``payment_collect`` and ``payment_cancel`` run inside the ``payments`` consumer's transaction, so
they call no gateway: they write a pending :class:`~payments.models.PaymentOperation` (due now,
``next_attempt_at``) and move the payment to ``completing`` / ``cancelling``. This module carries
each such intent out, in three steps, none of which holds a lock while the gateway works:

1. :func:`claim` takes one due operation with ``SELECT ... FOR UPDATE SKIP LOCKED``, sets its
   lease (``leased_until``, ``PAYMENTS["EXECUTOR_LEASE_S"]``) and ``attempts``, and commits.
2. :func:`call_gateway` asks the gateway, outside any transaction, with the operation's
   idempotency key.
3. ``services.payment_operation_record`` records the answer once in a second transaction and
   applies it (the next step of a collection is written there, so a collection is a chain of
   intents). An outage (``GatewayUnavailable``) gives the lease back with a backoff
   (``payment_operation_retry_later``); a refusal for good is recorded as failed.

A crash between the call and the record leaves the operation pending and leased; once the lease
runs out another executor (or the same one restarted) claims it and asks again with the same key:
the gateway answers with its first result and moves no money twice. The long-running
:class:`PaymentsExecutor` (``manage.py payments_executor``) runs ``PAYMENTS["EXECUTOR_CONCURRENCY"]``
worker threads, so one slow call never delays the others, and wakes on the ``payment_operations``
Postgres notification each intent sends when it commits, polling every ``EXECUTOR_POLL_S`` as
a fallback. Several executor processes may run: SKIP LOCKED and the lease keep them apart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

# The relay's connection string for a LISTEN connection outside Django's pool (one definition of it).
from marketplace.events.relay import _libpq_dsn
from marketplace.ops.heartbeat import Heartbeat

from . import services
from .gateway import GatewayRequestError, GatewayResult, GatewayUnavailable
from .models import Payment, PaymentOperation

log = logging.getLogger(__name__)
Op = PaymentOperation


def claim(*, now: datetime | None = None) -> PaymentOperation | None:
    """Lease the oldest due pending operation that no other executor holds (committed before returning), or None."""
    now = now or timezone.now()
    with transaction.atomic():
        op = (
            Op.objects.select_for_update(skip_locked=True)
            .filter(status=Op.Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .order_by("next_attempt_at", "id")
            .first()
        )
        if op is None:
            return None
        Op.objects.filter(pk=op.pk).update(
            leased_until=now + timedelta(seconds=settings.PAYMENTS["EXECUTOR_LEASE_S"]), attempts=F("attempts") + 1
        )
    op.refresh_from_db()
    return op


def call_gateway(op: PaymentOperation) -> GatewayResult:
    """Ask the gateway for ``op`` with its idempotency key. Call outside any transaction; raises what the gateway raises."""
    payment = Payment.objects.get(pk=op.payment_id or 0)
    gw = services.gateway()
    key = op.idempotency_key
    if op.kind == Op.Kind.CAPTURE_DEPOSIT:
        return gw.capture(authorization_id=payment.deposit_authorization_id, amount=op.amount, idempotency_key=key)
    if op.kind == Op.Kind.AUTHORIZE_BALANCE:
        return gw.authorize(
            token=op.card_token, amount=op.amount, currency=payment.currency, idempotency_key=key, reference=f"job:{payment.job_id}"
        )
    if op.kind == Op.Kind.CAPTURE_BALANCE:
        return gw.capture(authorization_id=payment.balance_authorization_id, amount=op.amount, idempotency_key=key)
    if op.kind == Op.Kind.VOID_DEPOSIT:
        return gw.void(authorization_id=payment.deposit_authorization_id, idempotency_key=key)
    if op.kind == Op.Kind.REFUND:
        return gw.refund(charge_id=op.charge_id, amount=op.amount, idempotency_key=key)
    raise GatewayRequestError("not_allowed", f"the executor does not run {op.kind} operations")


def overdue(*, late_by_s: float) -> int:
    """Pending operations due more than ``late_by_s`` ago and not leased now: no executor is taking them (the clock warns)."""
    now = timezone.now()
    return (
        Op.objects.filter(status=Op.Status.PENDING, next_attempt_at__lt=now - timedelta(seconds=late_by_s))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .count()
    )


class Stats:
    """What this process's executor did (its metrics)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recorded = 0
        self.retried = 0
        self.failed = 0

    def add(self, field: str) -> None:
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)


def execute(op: PaymentOperation, stats: Stats | None = None) -> None:
    """Call the gateway for a claimed operation, then record the answer (or the outage, or the refusal)."""
    stats = stats or Stats()
    try:
        result = call_gateway(op)
    except GatewayUnavailable as exc:
        log.warning("payments executor: gateway unavailable for %s operation %s (attempt %d); retrying later", op.kind, op.pk, op.attempts)
        services.payment_operation_retry_later(operation=op, error=str(exc) or "gateway unavailable")
        stats.add("retried")
        return
    except GatewayRequestError as exc:
        services.payment_operation_failed(operation=op, code=exc.code)
        stats.add("failed")
        return
    if result.retryable:
        # An adapter's soft decline ("try again later"): nothing happened, so it is an outage for our purposes.
        services.payment_operation_retry_later(operation=op, error=f"the gateway asked to retry ({result.message})")
        stats.add("retried")
        return
    services.payment_operation_record(operation=op, result=result)
    stats.add("recorded")


def run_due(*, limit: int = 1000, stats: Stats | None = None) -> int:
    """Claim and execute due operations one by one until none is due (or ``limit``); returns how many ran. For ``--once`` and tests."""
    done = 0
    while done < limit:
        op = claim()
        if op is None:
            break
        execute(op, stats)
        done += 1
    return done


class ExecutorCollector(Collector):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Any]:
        for field, help_text in (
            ("recorded", "Gateway answers recorded."),
            ("retried", "Gateway calls put back after an outage."),
            ("failed", "Gateway requests refused for good."),
        ):
            yield CounterMetricFamily(f"payments_executor_{field}", help_text, value=getattr(self.stats, field))


class PaymentsExecutor:
    """The long-running executor: worker threads that claim and execute, woken by the intents' notifications."""

    def __init__(self, *, concurrency: int | None = None) -> None:
        self.concurrency = concurrency or settings.PAYMENTS["EXECUTOR_CONCURRENCY"]
        # Liveness: the main loop beats for the workers, and only while each of them went round recently
        # (a worker stuck in a gateway call past every timeout makes the probe fail).
        self.heartbeat = Heartbeat("payments-executor")
        self._worker_seen: dict[int, float] = {}
        self.poll_s = float(settings.PAYMENTS["EXECUTOR_POLL_S"])
        self.stop_event = threading.Event()
        self.wake = threading.Condition()
        self.stats = Stats()

    def _notify_workers(self) -> None:
        with self.wake:
            self.wake.notify_all()

    def _worker(self, index: int = 0) -> None:
        try:
            while not self.stop_event.is_set():
                self._worker_seen[index] = time.monotonic()
                try:
                    op = claim()
                    if op is not None:
                        execute(op, self.stats)
                        continue
                except DatabaseError as exc:
                    log.error("payments executor: database error (%s); retrying", exc)
                    connection.close()
                    self.stop_event.wait(1)
                    continue
                except Exception:
                    # An unexpected bug must not kill the worker: the operation stays leased and is retried after the lease.
                    log.exception("payments executor: unexpected error")
                    connection.close()
                    self.stop_event.wait(1)
                    continue
                with self.wake:
                    self.wake.wait(self.poll_s)
        finally:
            connection.close()

    def run(self) -> None:
        """Run until ``stop_event`` is set; a call in flight finishes and is recorded before its worker stops."""
        self.heartbeat.beat("starting")
        self._worker_seen = dict.fromkeys(range(self.concurrency), time.monotonic())
        workers = [threading.Thread(target=self._worker, args=(i,), name=f"payments-executor-{i}") for i in range(self.concurrency)]
        for worker in workers:
            worker.start()
        log.info("payments executor: %d workers", self.concurrency)
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(_libpq_dsn(), autocommit=True) as listen_conn:
                    listen_conn.execute(f"LISTEN {services.WAKE_CHANNEL}")
                    while not self.stop_event.is_set():
                        self._beat()
                        for _ in listen_conn.notifies(timeout=self.poll_s, stop_after=1):
                            self._notify_workers()
            except psycopg.OperationalError as exc:
                log.error("payments executor: LISTEN connection lost (%s); reconnecting in 2 s", exc)
                self.heartbeat.beat("degraded", reason="database unreachable; reconnecting")
                self.stop_event.wait(2)
        self._notify_workers()
        for worker in workers:
            worker.join()
        self.heartbeat.remove()

    def _beat(self) -> None:
        oldest = min(self._worker_seen.values(), default=time.monotonic())
        idle_for = time.monotonic() - oldest
        if idle_for > self.heartbeat.stale_after:
            self.heartbeat.beat("stuck", reason=f"a worker has not gone round for {idle_for:.0f} s")
        else:
            self.heartbeat.beat("ok", workers=self.concurrency)
