"""The privacy periodic task (run by ``manage.py clock``): every registered retention purge, hourly."""

from __future__ import annotations

from django.conf import settings

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .retention import purge_expired


def _purge_expired() -> Outcome:
    counts = purge_expired()
    total = sum(counts.values())
    return Outcome(total, "purged past their retention: " + ", ".join(f"{n} {name}" for name, n in counts.items() if n))


register(PeriodicTask("privacy.purge_expired", _purge_expired, every_s=settings.PRIVACY["PURGE_EVERY_S"]))
