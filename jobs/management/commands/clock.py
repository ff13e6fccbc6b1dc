"""The clock: time-based transitions nobody's request triggers (expiry, widening the search, reminders, payment reconciliation)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection
from django.utils import timezone

from alerts.services import clock_pass as staff_alerts_pass
from jobs import services
from jobs.models import Job
from marketplace.notifications.services import deliveries_send_pending
from marketplace.services_check import wait_for_database
from payments.services import payments_reconcile
from scheduling.services import reminders_send
from tracking.services import pings_purge

log = logging.getLogger(__name__)

PURGE_EVERY_S = 3600  # GPS trail retention is in hours: an hourly purge is enough


def tick() -> tuple[int, int]:
    """One pass: expire overdue open jobs, widen matching for open jobs with no bid. Idempotent."""
    now = timezone.now()
    expired = sum(1 for job in Job.objects.filter(status=Job.Status.OPEN, expires_at__lte=now) if services.job_expire(job=job))
    widen_before = now - timedelta(minutes=settings.MATCHING["WIDEN_AFTER_MINUTES"])
    stale = Job.objects.filter(
        status=Job.Status.OPEN,
        bids__isnull=True,
        updated_at__lte=widen_before,
        match_round__lt=len(settings.MATCHING["RADIUS_FACTORS"]),
    )
    widened = sum(1 for job in stale if services.job_widen_search(job=job))
    return expired, widened


class Command(BaseCommand):
    help = "Run periodic transitions (expiry, widening, reminders, payment reconciliation) every CLOCK_INTERVAL_S seconds."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        if options["once"]:
            expired, widened = tick()
            reminded = reminders_send()
            resent = deliveries_send_pending()
            released = payments_reconcile()
            points, _, _ = pings_purge(older_than=timedelta(hours=settings.TRACKING["PING_RETENTION_HOURS"]))
            alerted, webhooks = staff_alerts_pass()
            self.stdout.write(f"raised {alerted} staff alert(s), sent {webhooks} to the webhook")
            self.stdout.write(
                f"expired {expired}, widened {widened}, sent {reminded} reminder(s) and {resent} pending email/SMS, "
                f"released {released} unused deposit hold(s), purged {points} old trail point(s)"
            )
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        last_purge = 0.0
        while not stop.is_set():
            try:
                expired, widened = tick()
                if expired or widened:
                    log.info("clock: expired %d job(s), widened matching for %d", expired, widened)
                reminded = reminders_send()
                if reminded:
                    log.info("clock: sent %d appointment reminder(s)", reminded)
                resent = deliveries_send_pending()
                if resent:
                    log.info("clock: sent %d pending email/SMS notification(s)", resent)
                if time.monotonic() - last_purge > PURGE_EVERY_S:
                    points, _, _ = pings_purge(older_than=timedelta(hours=settings.TRACKING["PING_RETENTION_HOURS"]))
                    last_purge = time.monotonic()
                    if points:
                        log.info("clock: purged %d trail point(s) past their retention", points)
                released = payments_reconcile()
                if released:
                    log.warning("clock: released %d deposit hold(s) whose acceptance never committed", released)
                alerted, webhooks = staff_alerts_pass()
                if alerted or webhooks:
                    log.info("clock: raised %d staff alert(s), sent %d to the webhook", alerted, webhooks)
            except DatabaseError as exc:
                log.error("clock: database error (%s); retrying next tick", exc)
                connection.close()
            stop.wait(settings.CLOCK_INTERVAL_S)
