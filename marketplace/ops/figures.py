"""The backbone's health figures, read from Postgres: one definition for the staff page, ``/metrics`` and paging.

Times are measured against ``timezone.now()`` (the caller's clock, pinned in tests), except where a
caller passes its own ``now``.  Consumer lag is asked of Kafka (``metrics.consumer_lag``), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from marketplace.events.models import DeadLetter, OutboxEvent


@dataclass(frozen=True)
class Outbox:
    backlog: int  # rows not yet published
    oldest_age_s: float  # age of the oldest of them (0 when none)
    stalled_s: float  # how long rows have waited with no publish at all (0 when none wait, or the relay is publishing)


def outbox(now: datetime | None = None) -> Outbox:
    """The outbox backlog, its oldest row's age, and how long the relay has made no progress while rows wait.

    ``stalled_s`` is the time since the later of the newest publish and the oldest waiting row's creation:
    a relay that publishes (even slowly) keeps it near 0, one that publishes nothing lets it grow.
    """
    now = now or timezone.now()
    pending = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(count=Count("id"), oldest=Min("created_at"))
    if not pending["oldest"]:
        return Outbox(0, 0.0, 0.0)
    oldest_age = max(0.0, (now - pending["oldest"]).total_seconds())  # clamp clock skew between writers
    # The relay publishes in id order, so the newest publish is that of the highest published id: a
    # backwards walk of the primary key that stops at the first published row (no index on published_at).
    last = OutboxEvent.objects.filter(published_at__isnull=False).order_by("-id").values_list("published_at", flat=True).first()
    progress = max(last, pending["oldest"]) if last else pending["oldest"]
    return Outbox(int(pending["count"]), round(oldest_age, 1), round(max(0.0, (now - progress).total_seconds()), 1))


def dead_letters_pending() -> int:
    """Dead letters not yet re-driven or dismissed (what the staff page lists)."""
    return DeadLetter.objects.filter(status=DeadLetter.Status.PENDING).count()


def dead_letters_recorded() -> int:
    """Every dead letter ever recorded, whatever became of it: a count that only grows (Prometheus' ``increase()``)."""
    return DeadLetter.objects.count()


def dead_letters_new(window_s: float, now: datetime | None = None) -> int:
    """Dead letters recorded in the last ``window_s`` seconds: the growth that pages (re-driving does not hide it)."""
    since = (now or timezone.now()) - timedelta(seconds=window_s)
    return DeadLetter.objects.filter(created_at__gt=since).count()
