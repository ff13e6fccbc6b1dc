"""Run the staff-alert clock pass by hand: the time-based rules and the webhook retries (the clock does both every tick)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from alerts.models import AlertDelivery
from alerts.services import alerts_check_due, deliveries_send_pending


class Command(BaseCommand):
    help = "Raise due time-based staff alerts (no bids, not arrived) and send pending webhook deliveries."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--now", action="store_true", help="Send pending deliveries now, ignoring their backoff.")

    def handle(self, *args: Any, **options: Any) -> None:
        raised = alerts_check_due()
        if options["now"]:
            AlertDelivery.objects.filter(status=AlertDelivery.Status.PENDING).update(next_attempt_at=None)
        sent = deliveries_send_pending()
        failed = AlertDelivery.objects.filter(status=AlertDelivery.Status.FAILED).count()
        self.stdout.write(f"raised {raised} staff alert(s), sent {sent} webhook delivery(ies); {failed} failed for good")
