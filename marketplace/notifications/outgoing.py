"""When email and SMS leave: never on the path of a web request or a consumer's batch.

``notify()`` and ``sms_reply()`` write their delivery rows in the caller's transaction and call
:func:`send_later`.  With ``NOTIFICATIONS["DELIVERY"] = "worker"`` (the default) that is a
``pg_notify`` in the same transaction: Postgres delivers it only when the transaction commits
(and never if it rolls back), so a slow SMTP server or SMS provider delays nobody but the
delivery worker (``manage.py deliver``, the ``deliveries`` process), which LISTENs and sends at
once.  It also sends whatever is due every ``WORKER_POLL_S`` seconds, so a wake-up lost while
it was down costs at most that long; the clock's retry pass stays as the backstop for failures.

``"after_commit"`` sends in the committing process right after the commit, as before the
worker existed: the in-process tests use it (their transactions are rolled back, so no worker
would ever see the rows).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction

# The relay's connection string for a LISTEN connection outside Django's pool (one definition of it).
from marketplace.events.relay import _libpq_dsn
from marketplace.ops.heartbeat import Heartbeat

log = logging.getLogger(__name__)

CHANNEL = "tradelink_deliveries"


def send_later(send: Callable[[Iterable[int]], int], ids: list[int]) -> None:
    """Have ``send(ids)`` run after the current transaction commits: by the delivery worker, or here (see module)."""
    if settings.NOTIFICATIONS["DELIVERY"] == "after_commit":
        transaction.on_commit(lambda: send(ids))
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [CHANNEL])


class Worker:
    """The ``deliveries`` process: LISTEN, send what is due, wait for the next commit's wake-up (or the poll)."""

    def __init__(self, send_due: Callable[[], int], *, poll_s: float | None = None) -> None:
        self.send_due = send_due  # everything pending and due (``services.deliveries_send_due``); returns how many went
        self.poll_s = float(settings.NOTIFICATIONS["WORKER_POLL_S"] if poll_s is None else poll_s)
        self.stop_event = threading.Event()
        self.heartbeat = Heartbeat("deliveries")

    def run(self) -> int:
        """Send until ``stop_event`` is set (a send in progress finishes first). Returns how many were sent."""
        sent = 0
        self.heartbeat.beat("starting")
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(_libpq_dsn(), autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    log.info("deliveries: listening on %s, polling every %.1f s", CHANNEL, self.poll_s)
                    while not self.stop_event.is_set():
                        sent += self._pass()
                        self.heartbeat.beat("ok", sent=sent)
                        self._wait(listener)
            except psycopg.OperationalError as exc:
                log.error("deliveries: LISTEN connection lost (%s); reconnecting in 2 s", exc)
                self.heartbeat.beat("degraded", reason="database unreachable; reconnecting")
                self.stop_event.wait(2)
        self.heartbeat.remove()
        return sent

    def _wait(self, listener: psycopg.Connection) -> None:
        """Until a commit's wake-up (the next pass sends everything due), the poll interval or a stop, in 1 s slices."""
        deadline = time.monotonic() + self.poll_s
        while not self.stop_event.is_set() and (left := deadline - time.monotonic()) > 0:
            for _ in listener.notifies(timeout=min(left, 1.0), stop_after=1):
                return
            self.heartbeat.touch()

    def _pass(self) -> int:
        try:
            return self.send_due()
        except DatabaseError:
            log.exception("deliveries: a send pass failed; trying again at the next wake-up")
            return 0
        finally:
            connection.close_if_unusable_or_obsolete()
