"""The clock: runs the periodic tasks the apps registered (``marketplace.events.periodic``).

    manage.py clock           every CLOCK_INTERVAL_S seconds, each task at its own interval, until SIGTERM
    manage.py clock --once    every task once, one line each, then exit

Expiry and widening (jobs), reminders (scheduling), pending email/SMS (notifications), orphaned deposit
holds (quotes), the retention purges (privacy, hourly: GPS trails, inbox, outbox, notifications, audit) and the staff
alerts pass (alerts) are each
registered by their own app; this command imports none of them.

Liveness: the ``clock`` heartbeat (``marketplace/ops/heartbeat.py``) beats after every task and every tick;
it may go ``HEALTH['STALE_AFTER_S']`` + ``CLOCK_INTERVAL_S`` without one before ``python -m marketplace.ops.probe clock``
calls it stuck.  A database outage makes it ``degraded`` (alive: a restart would not bring the database back).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from marketplace.events.periodic import Schedule, run_due
from marketplace.ops.heartbeat import Heartbeat
from marketplace.services_check import wait_for_database

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the registered periodic tasks (expiry, widening, reminders, payment reconciliation, ...) every CLOCK_INTERVAL_S seconds."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run every task once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        if options["once"]:
            for task, outcome in run_due():
                self.stdout.write(f"{task.name}: {outcome.summary}")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        schedule = Schedule()
        heartbeat = Heartbeat("clock", stale_after=settings.HEALTH["STALE_AFTER_S"] + settings.CLOCK_INTERVAL_S)
        heartbeat.beat("starting")
        try:
            while not stop.is_set():
                try:
                    for task, outcome in run_due(schedule):
                        heartbeat.beat("ok", last_task=task.name)
                        if outcome.count:
                            log.log(task.log_level, "clock: %s", outcome.summary)
                    heartbeat.beat("ok")
                except DatabaseError as exc:
                    log.error("clock: database error (%s); retrying next tick", exc)
                    heartbeat.beat("degraded", reason="database error; retrying next tick")
                    connection.close()
                stop.wait(settings.CLOCK_INTERVAL_S)
        finally:
            heartbeat.remove()
