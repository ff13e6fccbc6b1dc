"""Delete GPS trail points (and the tracking consumer's inbox rows for pings) past the retention.

    manage.py purge_pings [--older-than-hours N]   (default TRACKING['PING_RETENTION_HOURS'], 24)

Run it from cron or the clock.  Positions are personal data: a customer may see one only while
the tradesperson is on the way, and nobody needs yesterday's.  The visit keeps only its last
fix (for the tradesperson's own page), which is cleared too once that is past the retention.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking.services import pings_purge


class Command(BaseCommand):
    help = "Delete GPS pings (trail points) older than the retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-hours", type=float, default=None, help="Default: TRACKING['PING_RETENTION_HOURS'].")

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["older_than_hours"]
        if hours is None:
            hours = float(settings.TRACKING["PING_RETENTION_HOURS"])
        if hours < 0:
            raise CommandError("--older-than-hours must not be negative.")
        points, cleared, inbox = pings_purge(older_than=timedelta(hours=hours))
        self.stdout.write(f"Purged {points} trail points older than {hours:g} h; cleared {cleared} last positions; {inbox} inbox rows.")
