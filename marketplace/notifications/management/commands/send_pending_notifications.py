"""Send emails and texts that are still pending (a failed send, or one whose sender died)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from marketplace.notifications.services import deliveries_send_pending


class Command(BaseCommand):
    help = "Retry pending email/SMS deliveries that are due (the clock runs this every tick)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many deliveries per run.")
        parser.add_argument("--now", action="store_true", help="Ignore the retry backoff: try every pending delivery now.")

    def handle(self, *args: Any, **options: Any) -> None:
        sent = deliveries_send_pending(limit=options["limit"], now_due=options["now"])
        self.stdout.write(f"sent {sent} pending notification(s)")
