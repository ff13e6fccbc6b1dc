"""The tracking app's periodic task (run by ``manage.py clock``): purge GPS trails past their retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .services import pings_purge

PURGE_EVERY_S = 3600  # GPS trail retention is in hours: an hourly purge is enough


def _purge_pings() -> Outcome:
    points, _, _ = pings_purge(older_than=timedelta(hours=settings.TRACKING["PING_RETENTION_HOURS"]))
    return Outcome(points, f"purged {points} trail point(s) past their retention")


register(PeriodicTask("tracking.purge_pings", _purge_pings, every_s=PURGE_EVERY_S))
