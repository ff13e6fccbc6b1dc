"""Queue retained outbox rows for publishing again (after a broker lost its data)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from marketplace.events.replay import republish_outbox


class Command(BaseCommand):
    help = "Mark retained, published outbox rows unpublished so the relay re-sends them; consumers absorb duplicates."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since-hours", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        count = republish_outbox(since_hours=options["since_hours"])
        self.stdout.write(f"{count} events queued for re-publication")
