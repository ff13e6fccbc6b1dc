"""Rebuild a consumer's read model from the event log."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild


class Command(BaseCommand):
    help = "Empty a consumer's read model and re-apply every event from Kafka (or the retained outbox)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("consumer")
        parser.add_argument("--source", choices=["kafka", "outbox"], default="kafka")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = get_consumer(options["consumer"])
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        started = time.monotonic()
        try:
            result = rebuild(spec, source=options["source"])
        except NotImplementedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{spec.name}: applied {result.applied}, skipped {result.skipped}, invalid {result.invalid} "
            f"in {time.monotonic() - started:.2f} s"
        )
