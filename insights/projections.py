"""The ``insights`` consumer: streaming aggregates for the dashboards, from the job and payment topics.

Each event turns into increments of :class:`~insights.models.DailyMetric` rows (the platform row
and, when a tradesperson is involved, theirs), applied in the consumer runner's transaction with
the inbox record, so each event counts exactly once per consumer group.  Which day: the UTC day of
the moment the metric is about (posted, bid, awarded, completed, cancelled, arrived; an
appointment's hours on the day it starts; money on the day it moved).

Replay-safe by construction, so ``manage.py replay_events insights`` rebuilds the same numbers:

- Events of one job share a partition, so a job's facts see its events in the order they happened.
- What depends on other jobs (is this a repeat customer?) is decided by event time, not by the
  order the consumer met the jobs in (:class:`~insights.models.FirstCompletion`).
- Payment snapshots (compacted ``marketplace.payments`` topic, a different partition from the job)
  carry the payment's whole state and a version; the projection applies the difference to the last
  version it saw and ignores stale ones, so revenue and fees add up to the latest state whatever
  was compacted away.  A job's trade never changes, so when a payment overtakes its job's
  ``job.posted`` (possible in a rebuild, which reads partitions side by side) the trade is read
  from the job itself.
- Changed facts take back what they added: a rescheduled or cancelled appointment removes its
  hours, a revised bid moves the quote total by the difference.

Live updates: after the commit, one small ``insights.changed`` message per stream per batch
(``insights.platform`` and ``insights.<tradesperson_id>``), throttled per stream by
``INSIGHTS['PUSH_MIN_INTERVAL_S']`` with a trailing push so the last change always arrives; the
dashboard refetches its numbers through the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NotRequired, TypedDict

from django.conf import settings
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from jobs import events as jobs_events
from jobs.models import Job
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler
from marketplace.realtime import push
from payments import events as payments_events
from scheduling import events as scheduling_events
from tracking import events as tracking_events

from .models import PLATFORM, BidFact, DailyMetric, FirstCompletion, JobFact, PaymentFact, ProJobFact
from .streams import PLATFORM_STREAM, pro_stream

ZERO = Decimal("0.00")
COUNTERS = sorted(f.name for f in DailyMetric._meta.get_fields() if f.name not in ("id", "day", "trade_slug", "tradesperson_id"))


class _JobRef(TypedDict):
    """The key every job-topic event this consumer handles shares (a subset of each payload)."""

    job_id: int


class _AppointmentRef(TypedDict):
    """What ``appointment.booked`` / ``rescheduled`` / ``cancelled`` share that ``_set_appointment`` reads."""

    job_id: int
    tradesperson_id: NotRequired[int]


def _dt(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def add(moment: datetime, trade_slug: str, tradespeople: Iterable[int | None], *, include_platform: bool = True, **deltas: Any) -> None:
    """Add ``deltas`` to the (UTC day of ``moment``, trade) rows of the platform and of each tradesperson given.

    One upsert for all the rows; the counters named must be DailyMetric fields.
    """
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"Not DailyMetric counters: {sorted(unknown)}")
    ids = sorted({t for t in tradespeople if t} | ({PLATFORM} if include_platform else set()))
    if not ids:
        return
    table = DailyMetric._meta.db_table
    sql = f"""INSERT INTO {table} AS m (day, trade_slug, tradesperson_id, {", ".join(COUNTERS)})
              SELECT %s, %s, t, {", ".join("%s" if c in deltas else "0" for c in COUNTERS)}
              FROM unnest(%s::int[]) AS t
              ON CONFLICT (day, trade_slug, tradesperson_id) DO UPDATE
              SET {", ".join(f"{c} = m.{c} + EXCLUDED.{c}" for c in sorted(deltas))}"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [utc_day(moment), trade_slug, *[deltas[c] for c in COUNTERS if c in deltas], ids])
    _Pushes.mark(ids)


class _Pushes:
    """Tell open dashboards that their numbers changed, after the commit, at most once per interval per stream.

    Every change schedules a push on commit; the throttle turns a burst (a busy batch, a rebuild)
    into one push now and one trailing push at the end of the interval, which carries the rest.
    """

    _lock = threading.Lock()
    _last: dict[str, float] = {}
    _trailing: dict[str, threading.Timer] = {}

    @classmethod
    def mark(cls, tradespeople: Iterable[int]) -> None:
        streams = sorted(PLATFORM_STREAM if t == PLATFORM else pro_stream(t) for t in tradespeople)
        transaction.on_commit(lambda: cls.send(*streams))

    @classmethod
    def send(cls, *streams: str) -> None:
        """Push now to each of ``streams`` not pushed within the interval (all in one send); the rest trail."""
        interval = float(settings.INSIGHTS["PUSH_MIN_INTERVAL_S"])
        due: list[str] = []
        with cls._lock:
            now = time.monotonic()
            for stream in streams:
                wait = cls._last.get(stream, -1e9) + interval - now
                if wait > 0:
                    if stream not in cls._trailing:  # one trailing push carries every change made meanwhile
                        timer = threading.Timer(wait, cls._trail, args=(stream,))
                        timer.daemon = True
                        cls._trailing[stream] = timer
                        timer.start()
                    continue
                cls._last[stream] = now
                due.append(stream)
        if due:
            push.send_now([(stream, _message(stream)) for stream in due])

    @classmethod
    def _trail(cls, stream: str) -> None:
        with cls._lock:
            cls._trailing.pop(stream, None)
            cls._last[stream] = time.monotonic()
        push.send_now([(stream, _message(stream))])


def _message(stream: str) -> dict[str, Any]:
    return {
        "type": "live.event",
        "stream": stream,
        "event": "insights.changed",
        "source": "insights",
        "aggregate": "",
        "seq": None,
        "prev_seq": None,
        "data": {},
    }


def _one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


class InsightsProjection(EventHandler):
    """Maintains DailyMetric and its facts; see the module docstring for what is counted where."""

    MAX_CACHED_JOBS = 50_000

    def __init__(self) -> None:
        # A job's trade and posting time never change, so they may be remembered across batches (and rollbacks).
        self._jobs: dict[int, tuple[str, datetime | None]] = {}

    def reset(self) -> None:
        for model in (DailyMetric, JobFact, ProJobFact, BidFact, PaymentFact, FirstCompletion):
            model.objects.all().delete()
        self._jobs.clear()

    def _job(self, job_id: int) -> tuple[str, datetime | None]:
        """(trade slug, posted at) of a job, from its ``job.posted`` fact.

        Without one (the job is older than the log, or a rebuild met a payment before the job's own
        partition), the trade is read from the job itself, which is safe because it never changes.
        """
        job_id = int(job_id)
        known = self._jobs.get(job_id)
        if known is not None:
            return known
        row = JobFact.objects.filter(job_id=job_id).values_list("trade_slug", "posted_at").first()
        if row is None:
            slug = Job.objects.filter(pk=job_id).values_list("trade__slug", flat=True).first()
            return (slug or "unknown", None)
        if len(self._jobs) >= self.MAX_CACHED_JOBS:
            self._jobs.clear()
        self._jobs[job_id] = (row[0], row[1])
        return self._jobs[job_id]

    def _fact(self, event: Envelope) -> JobFact | None:
        return JobFact.objects.select_for_update().filter(job_id=event.payload(_JobRef)["job_id"]).first()

    # --- the job's life ---------------------------------------------------------------------

    def on_job_posted(self, event: Envelope) -> None:
        data = event.payload(jobs_events.JobPostedV2)
        posted_at = _dt(data["posted_at"]) or event.occurred_at
        created = _one(
            f"""INSERT INTO {JobFact._meta.db_table} (job_id, customer_id, trade_slug, posted_at, status, paused_seconds)
                VALUES (%s, %s, %s, %s, %s, 0) ON CONFLICT (job_id) DO NOTHING RETURNING job_id""",
            [data["job_id"], data["customer_id"], data["trade"]["slug"], posted_at, data["status"]],
        )
        if created:
            add(posted_at, data["trade"]["slug"], [], jobs_posted=1)

    def on_lead_offered(self, event: Envelope) -> None:
        data = event.payload(jobs_events.LeadOfferedV1)
        table = ProJobFact._meta.db_table
        fresh = _one(
            f"""INSERT INTO {table} AS f (job_id, tradesperson_id, offered_at) VALUES (%s, %s, %s)
                ON CONFLICT (job_id, tradesperson_id) DO UPDATE SET offered_at = EXCLUDED.offered_at WHERE f.offered_at IS NULL
                RETURNING f.id""",
            [data["job_id"], data["tradesperson_id"], event.occurred_at],
        )
        if fresh:  # the first offer of this job to this tradesperson
            add(event.occurred_at, self._job(data["job_id"])[0], [data["tradesperson_id"]], leads=1)

    def on_bid_placed(self, event: Envelope) -> None:
        data = event.payload(jobs_events.BidPlacedV1)
        at, pro, amount, job_id = event.occurred_at, int(data["tradesperson_id"]), Decimal(data["amount"]), int(data["job_id"])
        created = _one(
            f"""INSERT INTO {BidFact._meta.db_table} (bid_id, job_id, tradesperson_id, day, amount) VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (bid_id) DO NOTHING RETURNING bid_id""",
            [data["bid_id"], job_id, pro, utc_day(at), amount],
        )
        if not created:
            return  # one bid.placed per bid; a second one (another event id) must not count twice
        trade, posted_at = self._job(job_id)
        add(at, trade, [pro], bids=1, quote_total=amount)
        first_on_job = _one(
            f"UPDATE {JobFact._meta.db_table} SET first_bid_at = %s WHERE job_id = %s AND first_bid_at IS NULL RETURNING job_id",
            [at, job_id],
        )
        if first_on_job and posted_at is not None:
            add(at, trade, [], jobs_bid=1, first_bid_seconds=max(0.0, (at - posted_at).total_seconds()))
        table = ProJobFact._meta.db_table
        mine = _one(
            f"""INSERT INTO {table} AS f (job_id, tradesperson_id, first_bid_at) VALUES (%s, %s, %s)
                ON CONFLICT (job_id, tradesperson_id) DO UPDATE SET first_bid_at = EXCLUDED.first_bid_at WHERE f.first_bid_at IS NULL
                RETURNING f.offered_at""",
            [job_id, pro, at],
        )
        if mine is not None:  # this tradesperson's first bid on the job: time from the lead (or the posting)
            since = mine[0] or posted_at or at
            add(at, trade, [pro], jobs_bid=1, first_bid_seconds=max(0.0, (at - since).total_seconds()), include_platform=False)

    def on_bid_revised(self, event: Envelope) -> None:
        data = event.payload(jobs_events.BidRevisedV1)
        bid = BidFact.objects.select_for_update().filter(bid_id=data["bid_id"]).first()
        if bid is None:
            return  # placed before the log begins
        amount = Decimal(data["amount"])
        if amount != bid.amount:
            moment = datetime(bid.day.year, bid.day.month, bid.day.day, 12, tzinfo=UTC)
            add(moment, self._job(bid.job_id)[0], [bid.tradesperson_id], quote_total=amount - bid.amount)
            BidFact.objects.filter(pk=bid.pk).update(amount=amount)

    def on_job_awarded(self, event: Envelope) -> None:
        data = event.payload(jobs_events.JobAwardedV2)
        job = self._fact(event)
        if job is None or job.tradesperson_id is not None:
            return
        JobFact.objects.filter(pk=job.pk).update(tradesperson_id=data["tradesperson_id"], status=data["status"])
        add(event.occurred_at, job.trade_slug, [data["tradesperson_id"]], jobs_awarded=1)

    def on_job_cancelled(self, event: Envelope) -> None:
        job = self._fact(event)
        if job is None or job.status == "cancelled":
            return
        JobFact.objects.filter(pk=job.pk).update(status="cancelled")
        add(event.occurred_at, job.trade_slug, [job.tradesperson_id], jobs_cancelled=1)

    def on_job_expired(self, event: Envelope) -> None:
        # Demand nobody met: counted on the trade's platform row (an expired job has no tradesperson).
        job = self._fact(event)
        if job is None or job.status == "expired":
            return
        JobFact.objects.filter(pk=job.pk).update(status="expired")
        add(event.occurred_at, job.trade_slug, [], jobs_expired=1)

    def on_job_status_changed(self, event: Envelope) -> None:
        job = self._fact(event)
        status, at = event.payload(jobs_events.JobStatusChangedV2)["status"], event.occurred_at
        if job is None or job.status == status:
            return
        fields: dict[str, Any] = {"status": status}
        if status == "in_progress" and job.work_started_at is None:
            fields["work_started_at"] = at
        if status == "completed" and job.completed_at is None:
            fields["completed_at"] = at
            started = job.work_started_at or at
            paused = job.paused_seconds + ((at - job.paused_at).total_seconds() if job.paused_at else 0.0)
            used = max(0.0, (at - started).total_seconds() - paused)
            add(at, job.trade_slug, [job.tradesperson_id], jobs_completed=1, used_seconds=used)
            self._repeat(job, PLATFORM, at)
            if job.tradesperson_id:
                self._repeat(job, job.tradesperson_id, at)
        JobFact.objects.filter(pk=job.pk).update(**fields)

    def _repeat(self, job: JobFact, scope: int, at: datetime) -> None:
        """Count a repeat job for ``scope`` (0 = platform) by completion time, whatever order the jobs arrive in."""
        pro = [] if scope == PLATFORM else [scope]
        first = FirstCompletion.objects.select_for_update().filter(tradesperson_id=scope, customer_id=job.customer_id).first()
        if first is None:
            FirstCompletion.objects.create(
                tradesperson_id=scope, customer_id=job.customer_id, job_id=job.job_id, completed_at=at, trade_slug=job.trade_slug
            )
            return
        if (at, job.job_id) > (first.completed_at, first.job_id):
            add(at, job.trade_slug, pro, repeat_jobs=1, include_platform=scope == PLATFORM)
            return
        # This one came first after all: the one we took for the first becomes a repeat on its own day.
        add(first.completed_at, first.trade_slug, pro, repeat_jobs=1, include_platform=scope == PLATFORM)
        FirstCompletion.objects.filter(pk=first.pk).update(job_id=job.job_id, completed_at=at, trade_slug=job.trade_slug)

    # --- appointments and visits ---------------------------------------------------------------

    def _book(self, job: JobFact, starts: datetime | None, ends: datetime | None, pro: int | None, sign: int) -> None:
        if starts is None or ends is None:
            return
        add(starts, job.trade_slug, [pro], scheduled_seconds=sign * (ends - starts).total_seconds())

    def on_appointment_booked(self, event: Envelope) -> None:
        data = event.payload(scheduling_events.AppointmentBookedV1)
        self._set_appointment(event, _dt(data["starts_at"]), _dt(data["ends_at"]))

    def on_appointment_rescheduled(self, event: Envelope) -> None:
        data = event.payload(scheduling_events.AppointmentRescheduledV1)
        self._set_appointment(event, _dt(data["starts_at"]), _dt(data["ends_at"]))

    def on_appointment_cancelled(self, event: Envelope) -> None:
        self._set_appointment(event, None, None)

    def _set_appointment(self, event: Envelope, starts: datetime | None, ends: datetime | None) -> None:
        job = self._fact(event)
        if job is None:
            return
        pro = event.payload(_AppointmentRef).get("tradesperson_id") or job.tradesperson_id
        self._book(job, job.appointment_starts_at, job.appointment_ends_at, pro, -1)
        self._book(job, starts, ends, pro, +1)
        JobFact.objects.filter(pk=job.pk).update(appointment_starts_at=starts, appointment_ends_at=ends)

    def on_visit_arrived(self, event: Envelope) -> None:
        job = self._fact(event)
        data = event.payload(tracking_events.VisitArrivedV1)
        at = _dt(data["at"]) or event.occurred_at
        if job is None or job.arrived_at is not None:
            return
        JobFact.objects.filter(pk=job.pk).update(arrived_at=at)
        if job.appointment_starts_at is None:
            return  # nothing to be late for
        late = (at - job.appointment_starts_at).total_seconds()
        grace = timedelta(minutes=settings.INSIGHTS["ON_TIME_GRACE_MINUTES"]).total_seconds()
        early_grace = timedelta(minutes=settings.INSIGHTS["EARLY_GRACE_MINUTES"]).total_seconds()
        # Measured against a window, not a deadline: arriving an hour and a half early is no more
        # "on time" than arriving an hour and a half late, for a customer who planned the day round it.
        add(
            at,
            job.trade_slug,
            [data["tradesperson_id"]],
            arrivals=1,
            arrivals_on_time=int(-early_grace <= late <= grace),
            arrivals_early=int(late < -early_grace),
            arrivals_late=int(late > grace),
            arrival_delay_seconds=max(0.0, late),
        )

    def on_visit_paused(self, event: Envelope) -> None:
        job = self._fact(event)
        if job is not None and job.paused_at is None:
            at = _dt(event.payload(tracking_events.VisitPausedV1)["at"]) or event.occurred_at
            JobFact.objects.filter(pk=job.pk).update(paused_at=at)

    def on_visit_resumed(self, event: Envelope) -> None:
        job = self._fact(event)
        if job is not None and job.paused_at is not None:
            at = _dt(event.payload(tracking_events.VisitResumedV1)["at"]) or event.occurred_at
            paused = job.paused_seconds + (at - job.paused_at).total_seconds()
            JobFact.objects.filter(pk=job.pk).update(paused_at=None, paused_seconds=paused)

    # --- money (compacted payments topic) -----------------------------------------------------

    def on_payment_snapshot(self, event: Envelope) -> None:
        data = event.payload(payments_events.PaymentSnapshotV1)
        version, kept, fee = int(data["version"]), Decimal(data["captured"]) - Decimal(data["refunded"]), Decimal(data["platform_revenue"])
        fact = PaymentFact.objects.select_for_update().filter(payment_id=data["payment_id"]).first()
        if fact is not None and version <= fact.version:
            return  # stale or repeated state
        before_kept, before_fee = (fact.kept, fact.platform_revenue) if fact else (ZERO, ZERO)
        PaymentFact.objects.update_or_create(
            payment_id=data["payment_id"],
            defaults={
                "job_id": data["job_id"],
                "tradesperson_id": data["tradesperson_id"],
                "version": version,
                "kept": kept,
                "platform_revenue": fee,
            },
        )
        if kept != before_kept or fee != before_fee:
            trade = self._job(int(data["job_id"]))[0]
            add(event.occurred_at, trade, [data["tradesperson_id"]], revenue=kept - before_kept, platform_fees=fee - before_fee)
