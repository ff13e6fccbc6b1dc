"""The ``staff-alerts`` consumer: events -> account context -> alerts for moments that need a human.

Topic: ``marketplace.jobs`` (every job, bid, payment-step and visit event, keyed by job id).

| event | rule | natural key |
| --- | --- | --- |
| ``job.posted`` | the customer's first job (no earlier job of theirs) | ``first_job:customer:<id>`` |
| ``payment.failed`` | any failed card payment (a balance that could not be taken is critical) | ``payment_failed:job:<id>:<stage>`` |
| ``tracking.eta_drift`` | the ETA is more than ``LATE_MINUTES`` past the appointment start | ``running_late:job:<id>`` |
| ``visit.arrived`` | the arrival was more than ``LATE_MINUTES`` after the appointment start | ``running_late:job:<id>`` |
| ``job.cancelled`` | ``CANCELLATION_FLOOD_COUNT`` in one ``CANCELLATION_FLOOD_MINUTES`` window | ``cancellation_flood:<start>`` |
| ``bid.placed`` | resolves the job's open ``no_bids`` alert (raised by the clock) | |

Each alert carries its account context (``alerts.enrichment``): the customer's job counts and
account age, the tradesperson's name and business, the job and the amounts.

Idempotent: the runner's inbox drops an exact redelivery; a replay (another group, or
``replay_events staff-alerts``) finds every natural key taken and raises nothing.  The decisions are
made from the event and the write model's history, never from arrival order: "first job" compares
job ids, and the flood rule counts cancellations in fixed windows (epoch-aligned, ``M`` minutes
each) by the event's time, so the same log always gives the same alerts.  A flood straddling two
windows may stay under the threshold in both: the price of one alert per window.

The only read model is ``CancellationMark`` (one row per cancelled job); ``reset()`` empties it.
Alerts themselves are a work queue with acknowledgements and are never reset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from jobs import events as jobs_events
from jobs.models import Job
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.money import format_money
from marketplace.privacy.events import UserErasedV1
from marketplace.privacy.registry import Erasure
from marketplace.privacy.scrub import scrub_json, scrub_text
from payments import events as payments_events
from scheduling.selectors import booked_appointment
from tracking import events as tracking_events

from . import enrichment, services
from .models import Alert, CancellationMark


def _time(value: str | None, default: datetime) -> datetime:
    parsed = parse_datetime(value) if value else None
    return parsed or default


def flood_window(at: datetime, minutes: int) -> tuple[datetime, datetime]:
    """The fixed window (epoch-aligned, ``minutes`` long) that ``at`` falls in."""
    size = minutes * 60
    start = datetime.fromtimestamp(int(at.timestamp()) // size * size, tz=UTC)
    return start, start + timedelta(seconds=size)


class StaffAlertsHandler(EventHandler):
    def on_user_erased(self, event: Envelope) -> None:
        """Alerts about an erased person keep their facts (kind, amounts, times, ids) without their name,
        contact details or job words: the names are found in the alert's own context, then scrubbed everywhere in it."""
        data = event.payload(UserErasedV1)
        user_id = data["user_id"]
        for alert in Alert.objects.filter(Q(customer_id=user_id) | Q(tradesperson_id=user_id)):
            erasure = Erasure(user_id=user_id, pseudonym=data["pseudonym"])
            context = alert.context or {}
            for role in ("customer", "tradesperson"):
                person = context.get(role) or {}
                if person.get("id") == user_id:
                    erasure.identifies(*(str(person.get(k) or "") for k in ("name", "email", "username", "business_name")))
            job = context.get("job") or {}
            if job.get("customer_id") == user_id:
                erasure.identifies(str(job.get("title") or ""), str(job.get("place") or ""))
            alert.title = scrub_text(alert.title, erasure)[:200]
            alert.body = scrub_text(alert.body, erasure)
            alert.context = scrub_json(context, erasure)
            alert.save(update_fields=["title", "body", "context"])

    def on_job_posted(self, event: Envelope) -> None:
        data = event.payload(jobs_events.JobPostedV2)
        job_id, customer_id = int(data["job_id"]), int(data["customer_id"])
        if Job.objects.filter(customer_id=customer_id, pk__lt=job_id).exists():
            return
        customer = enrichment.customer_context(customer_id)
        name = (customer or {}).get("name") or f"customer {customer_id}"
        age = (customer or {}).get("account_age_days")
        services.alert_raise(
            kind=Alert.Kind.FIRST_JOB,
            severity=Alert.Severity.INFO,
            key=f"customer:{customer_id}",
            title=f"New customer's first job: {name} posted “{data['title']}”",
            body=(
                f"{data['trade']['name']} job in {data.get('place') or 'an unnamed place'}, "
                f"budget {format_money(data['budget_min'])}–{format_money(data['budget_max'])}"
                + (", emergency" if data["is_emergency"] else "")
                + (f". Account {age} day(s) old." if age is not None else ".")
            ),
            occurred_at=_time(data["posted_at"], event.occurred_at),
            job_id=job_id,
            customer_id=customer_id,
            event_id=event.event_id,
            context={
                "customer": customer,
                "job": enrichment.job_context(job_id),
                "amount": data["budget_max"],
            },
        )

    def on_payment_failed(self, event: Envelope) -> None:
        data = event.payload(payments_events.PaymentFailedV2)
        job_id = int(data["job_id"])
        row = Job.objects.filter(pk=job_id).values("customer_id", "title", "tradesperson_id").first()
        job: dict[str, Any] = dict(row) if row else {}
        customer_id = data.get("customer_id") or job.get("customer_id")
        tradesperson_id = job.get("tradesperson_id")
        stage = data["stage"]
        critical = stage in {"balance", "capture", "refund"}  # money owed or owed back; a declined deposit leaves the job open
        customer = enrichment.customer_context(customer_id)
        title = job.get("title") or f"job {job_id}"
        services.alert_raise(
            kind=Alert.Kind.PAYMENT_FAILED,
            severity=Alert.Severity.CRITICAL if critical else Alert.Severity.WARNING,
            key=f"job:{job_id}:{stage}",
            title=f"Payment failed ({stage}, {format_money(data['amount'])}): “{title}”",
            body=f"The gateway said: {data['reason'].replace('_', ' ')}."
            + (" The job is done and the balance is unpaid." if stage == "balance" else ""),
            occurred_at=event.occurred_at,
            job_id=job_id,
            customer_id=customer_id,
            tradesperson_id=tradesperson_id,
            event_id=event.event_id,
            context={
                "customer": customer,
                "tradesperson": enrichment.tradesperson_context(tradesperson_id),
                "job": enrichment.job_context(job_id),
                "amount": data["amount"],
                "stage": stage,
                "reason": data["reason"],
                "payment_id": data.get("payment_id"),
            },
        )

    def on_tracking_eta_drift(self, event: Envelope) -> None:
        data = event.payload(tracking_events.TrackingEtaDriftV1)
        job = Job.objects.filter(pk=data["job_id"]).first()
        if job is None:
            return
        services.raise_running_late(
            job=job,
            tradesperson_id=data["tradesperson_id"],
            late_minutes=float(data["late_minutes"]),
            starts_at=_time(data["appointment_starts_at"], event.occurred_at),
            occurred_at=event.occurred_at,
            how="expects to arrive late",
            event_id=event.event_id,
        )

    def on_visit_arrived(self, event: Envelope) -> None:
        data = event.payload(tracking_events.VisitArrivedV1)
        job = Job.objects.filter(pk=data["job_id"]).first()
        appointment = booked_appointment(job_id=int(data["job_id"]))
        if job is None or appointment is None:
            return
        arrived_at = _time(data["at"], event.occurred_at)
        services.raise_running_late(
            job=job,
            tradesperson_id=data["tradesperson_id"],
            late_minutes=(arrived_at - appointment.starts_at).total_seconds() / 60,
            starts_at=appointment.starts_at,
            occurred_at=arrived_at,
            how="arrived late",
            event_id=event.event_id,
        )

    def on_job_cancelled(self, event: Envelope) -> None:
        job_id = int(event.payload(jobs_events.JobCancelledV2)["job_id"])
        CancellationMark.objects.get_or_create(job_id=job_id, defaults={"occurred_at": event.occurred_at})
        conf = settings.STAFF_ALERTS
        minutes = conf["CANCELLATION_FLOOD_MINUTES"]
        start, end = flood_window(event.occurred_at, minutes)
        in_window = list(
            CancellationMark.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
            .order_by("occurred_at")
            .values_list("job_id", flat=True)
        )
        if len(in_window) < conf["CANCELLATION_FLOOD_COUNT"]:
            return
        services.alert_raise(
            kind=Alert.Kind.CANCELLATION_FLOOD,
            severity=Alert.Severity.CRITICAL,
            key=start.strftime("%Y-%m-%dT%H:%MZ"),
            title=f"{len(in_window)} jobs cancelled between {start:%H:%M} and {end:%H:%M} UTC",
            body=f"{conf['CANCELLATION_FLOOD_COUNT']} or more cancellations in {minutes} minutes, platform-wide.",
            occurred_at=event.occurred_at,
            event_id=event.event_id,
            context={
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "cancelled_job_ids": in_window[:50],
                "count_when_raised": len(in_window),
            },
        )

    def on_bid_placed(self, event: Envelope) -> None:
        services.alerts_resolve_for_job(
            kind=Alert.Kind.NO_BIDS, job_id=int(event.payload(jobs_events.BidPlacedV1)["job_id"]), resolution="A bid arrived."
        )

    def reset(self) -> None:
        """Forget the cancellation marks (alerts stay: a replay finds their natural keys taken)."""
        CancellationMark.objects.all().delete()
