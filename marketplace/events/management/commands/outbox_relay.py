"""Run the outbox relay (publishes committed events to Kafka)."""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace.events.relay import OutboxRelay
from marketplace.ops.metrics import RelayCollector, serve_process_metrics
from marketplace.services_check import wait_for_database


class Command(BaseCommand):
    help = "Publish outbox rows to Kafka; safe to run as several replicas (one leads at a time)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Publish what is pending, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        relay = OutboxRelay()
        if options["once"]:
            self.stdout.write(f"published {relay.drain()} events")
            return
        serve_process_metrics(RelayCollector(relay))
        signal.signal(signal.SIGTERM, lambda *_: relay.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: relay.stop_event.set())
        relay.run()
