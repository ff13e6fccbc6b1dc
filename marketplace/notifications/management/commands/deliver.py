"""Run the delivery worker: notification emails and texts, and replies to texts, off every request's and batch's path.

manage.py deliver          until SIGTERM, woken by each commit that planned a delivery (marketplace/notifications/outgoing.py)
manage.py deliver --once   send what is due now, then exit
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace.notifications.outgoing import Worker
from marketplace.notifications.services import deliveries_send_due
from marketplace.services_check import wait_for_database


class Command(BaseCommand):
    help = "Send pending notification emails/SMS and SMS replies as their transactions commit; safe to run as several replicas."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        if options["once"]:
            self.stdout.write(f"sent {deliveries_send_due()} email/SMS deliveries")
            return
        worker = Worker(deliveries_send_due)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: worker.stop_event.set())
        worker.run()
