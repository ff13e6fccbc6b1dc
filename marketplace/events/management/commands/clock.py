"""The clock: runs the periodic tasks the apps registered (``marketplace.events.periodic``).

    manage.py clock           every CLOCK_INTERVAL_S seconds, each task at its own interval, until SIGTERM
    manage.py clock --once    every task once, one line each, then exit

Expiry and widening (jobs), reminders (scheduling), pending email/SMS (notifications), orphaned deposit
holds (quotes), the retention purges (privacy, hourly: GPS trails, inbox, outbox, notifications, audit) and the staff
alerts pass (alerts) are each
registered by their own app; this command imports none of them.
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
        while not stop.is_set():
            try:
                for task, outcome in run_due(schedule):
                    if outcome.count:
                        log.log(task.log_level, "clock: %s", outcome.summary)
            except DatabaseError as exc:
                log.error("clock: database error (%s); retrying next tick", exc)
                connection.close()
            stop.wait(settings.CLOCK_INTERVAL_S)
