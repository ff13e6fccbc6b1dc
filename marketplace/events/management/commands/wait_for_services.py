"""Wait until Postgres, Redis and Kafka answer; exit non-zero with a clear message if not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from marketplace.services_check import wait_for_database, wait_for_kafka, wait_for_redis


class Command(BaseCommand):
    help = "Check that Postgres, Redis and Kafka are reachable (retrying up to --timeout seconds each)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=30)
        parser.add_argument("--skip-kafka", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_database(options["timeout"])
        wait_for_redis(options["timeout"])
        if not options["skip_kafka"]:
            wait_for_kafka(options["timeout"])
        self.stdout.write("Postgres, Redis" + ("" if options["skip_kafka"] else " and Kafka") + " are reachable")
