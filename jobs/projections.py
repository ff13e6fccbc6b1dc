"""Read models maintained from job events (run by the consumer runner)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.postgres.search import SearchVector
from django.db.models import F
from django.utils.dateparse import parse_datetime

from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.realtime import push

from .models import JobBoardEntry, TradeActivity
from .streams import BOARD_STREAM, job_stream


class JobBoardProjection(EventHandler):
    """Maintains ``JobBoardEntry`` and pushes each change to the job's and the board's streams."""

    def reset(self) -> None:
        JobBoardEntry.objects.all().delete()
        TradeActivity.objects.all().delete()

    def on_job_posted(self, event: Envelope) -> None:
        d = event.data
        posted_at = parse_datetime(d["posted_at"])
        assert posted_at is not None
        entry, created = JobBoardEntry.objects.get_or_create(
            job_id=d["job_id"],
            defaults={
                "customer_id": d["customer_id"],
                "trade_slug": d["trade"]["slug"],
                "trade_name": d["trade"]["name"],
                "title": d["title"],
                "description": d["description"],
                "latitude": float(d["latitude"]),
                "longitude": float(d["longitude"]),
                "place": d.get("place", ""),
                "budget_min": Decimal(d["budget_min"]),
                "budget_max": Decimal(d["budget_max"]),
                "is_emergency": d["is_emergency"],
                "status": d["status"],
                "posted_at": posted_at,
                "last_sequence": event.sequence,
            },
        )
        if not created:
            return  # a later event already built this row
        activity, _ = TradeActivity.objects.get_or_create(trade_slug=d["trade"]["slug"], defaults={"trade_name": d["trade"]["name"]})
        TradeActivity.objects.filter(pk=activity.pk).update(open_jobs=F("open_jobs") + 1, posted_total=F("posted_total") + 1)
        JobBoardEntry.objects.filter(pk=entry.pk).update(
            search=SearchVector("title", weight="A") + SearchVector("description", weight="B") + SearchVector("trade_name", weight="A")
        )
        payload = {**d, "job_id": entry.job_id}
        push.send_on_commit(job_stream(entry.job_id), event.event_type, event.sequence, payload)
        push.send_on_commit(BOARD_STREAM, event.event_type, event.sequence, payload)

    def on_job_cancelled(self, event: Envelope) -> None:
        job_id = event.data["job_id"]
        updated = JobBoardEntry.objects.filter(job_id=job_id, last_sequence__lt=event.sequence).update(
            status=event.data["status"], last_sequence=event.sequence
        )
        if updated:
            entry = JobBoardEntry.objects.get(job_id=job_id)
            TradeActivity.objects.filter(trade_slug=entry.trade_slug).update(open_jobs=F("open_jobs") - 1)
            push.send_on_commit(job_stream(job_id), event.event_type, event.sequence, event.data)
            push.send_on_commit(BOARD_STREAM, event.event_type, event.sequence, event.data)
