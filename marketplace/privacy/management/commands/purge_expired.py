"""``manage.py purge_expired``: delete what is past its retention (the clock runs the same hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketplace.privacy.registry import PURGES
from marketplace.privacy.retention import purge_expired


class Command(BaseCommand):
    help = "Delete rows past their retention (inbox, outbox, notifications, audit log, GPS trails); periods in settings.PRIVACY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", nargs="*", choices=sorted(PURGES), help="Run only these purges.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in purge_expired(options["only"]).items():
            self.stdout.write(f"{name}: purged {count}")
