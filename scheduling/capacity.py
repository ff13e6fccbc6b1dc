"""The capacity read model: how much free working time each worker, and each trade in each area, has per day.

Two tables, both rebuildable from the event log (``replay_events capacity``):

- ``WorkerDayCapacity``: one row per worker and *local* day (the worker's time zone, so a
  spring-forward day has 23 hours and a fall-back day 25).  ``working_minutes`` is working
  time net of time off, ``booked_minutes`` the part of it blocked by booked appointments and
  their trailing travel buffers, ``free_minutes = working_minutes - booked_minutes``, and
  ``free_intervals`` lists the free stretches ([start, end] UTC ISO 8601).
- ``TradeAreaCapacity``: per trade, area (the 0.1-degree grid cell of a business's base) and
  day, the sums over every active worker of every business offering that trade there.  It is
  recomputed for a business's current area and trades; when a business moves or drops a trade,
  the old area's row catches up at the next change of any business there.

:class:`CapacityProjection` (consumer ``capacity``) keeps both up to date from
``appointment.*`` and ``worker.availability_changed`` events.  Matching reads the model through
:func:`pro_has_capacity`, so a fully booked tradesperson is not offered leads for that window.

The model is eventually consistent: a booking made a moment ago may not be projected yet, so
its business can still be offered a lead for that time.  That is acceptable: leads are offers,
not bookings, and the booking itself is guarded by the database's exclusion constraint.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NotRequired, TypedDict
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs.models import TradespersonProfile
from marketplace.events.envelope import Envelope
from marketplace.events.handlers import EventHandler

from . import events as ev
from . import slots
from .models import Appointment, TradeAreaCapacity, Worker, WorkerDayCapacity, WorkingHours
from .selectors import worker_availability

# A worker whose longest free stretch on a day is shorter than this counts as fully booked that
# day, and matching needs at least this much free time in a job's window (jobs.selectors).
CAPACITY_MIN_FREE_MINUTES = 60
# How far ahead a change of weekly hours (or of the worker) is projected; later days fall back
# to plain working hours until a booking there gives them a row.
CAPACITY_HORIZON_DAYS = 28
# Days of time off further ahead than this are not projected (no job window reaches that far).
TIME_OFF_HORIZON_DAYS = 366
AREA_CELL_DEGREES = Decimal("0.1")

_DAY_FIELDS = ["owner_id", "working_minutes", "booked_minutes", "free_minutes", "longest_free_minutes", "free_intervals", "appointments"]


# --- interval helpers (on top of scheduling.slots) --------------------------------------


def local_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local ``day`` starts and the next local day starts."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def local_days(start: datetime, end: datetime, time_zone: str) -> list[date]:
    """The local days (in ``time_zone``) that ``[start, end)`` touches, in order."""
    if end <= start:
        return []
    zone = ZoneInfo(time_zone)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _clip(intervals: Iterable[slots.Interval], start: datetime, end: datetime) -> list[slots.Interval]:
    clipped = (slots.Interval(max(i.start, start), min(i.end, end)) for i in intervals)
    return [i for i in clipped if i.end > i.start]


def _subtract(intervals: Iterable[slots.Interval], cuts: Iterable[slots.Interval]) -> list[slots.Interval]:
    """``intervals`` minus every cut (both may be unsorted; the result is sorted and merged)."""
    merged_cuts = slots._merge(cuts)
    result: list[slots.Interval] = []
    for interval in slots._merge(intervals):
        cursor = interval.start
        for cut in merged_cuts:
            if cut.end <= cursor or cut.start >= interval.end:
                continue
            if cut.start > cursor:
                result.append(slots.Interval(cursor, cut.start))
            cursor = max(cursor, cut.end)
        if cursor < interval.end:
            result.append(slots.Interval(cursor, interval.end))
    return result


def _minutes(intervals: Iterable[slots.Interval]) -> int:
    return int(sum((i.end - i.start for i in intervals), timedelta(0)).total_seconds() // 60)


def _longest(intervals: Sequence[slots.Interval]) -> int:
    return max((_minutes([i]) for i in intervals), default=0)


def _parse(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    return parsed


# --- computing one worker's day ---------------------------------------------------------


def compute_worker_day(worker: Worker, day: date, *, availability: slots.Availability | None = None) -> dict[str, Any]:
    """``worker``'s capacity on local ``day`` from the source tables (hours, time off, booked appointments).

    Returns the ``WorkerDayCapacity`` fields: ``working_minutes`` (weekly hours that day minus
    time off), ``booked_minutes`` (booked appointments plus their travel buffers, clipped to that
    working time), ``free_minutes`` (the difference), ``longest_free_minutes``, ``free_intervals``
    ([[start, end], ...] UTC ISO 8601) and ``appointments`` (booked appointments overlapping the day).
    ``availability`` may be passed when it was read for a span covering the day (one read for many days).
    """
    start, end = local_day_bounds(day, worker.time_zone)
    if availability is None:
        availability = worker_availability(worker=worker, start=start, end=end)
    working = _subtract(_clip(slots.working_intervals(availability, start, end), start, end), availability.time_off)
    blocked = [b.blocked for b in availability.booked]
    free = _subtract(working, blocked)
    working_minutes, free_minutes = _minutes(working), _minutes(free)
    return {
        "working_minutes": working_minutes,
        "booked_minutes": working_minutes - free_minutes,
        "free_minutes": free_minutes,
        "longest_free_minutes": _longest(free),
        "free_intervals": [[i.start.isoformat(), i.end.isoformat()] for i in free],
        "appointments": sum(1 for b in availability.booked if b.start < end and start < b.end),
    }


def _plain_intervals(worker: Worker, hours: Sequence[slots.Hours], day: date) -> list[slots.Interval]:
    """Working time on local ``day`` from weekly hours alone (no time off, no appointments): the fallback for unprojected days."""
    start, end = local_day_bounds(day, worker.time_zone)
    return _clip(slots.working_intervals(slots.Availability(time_zone=worker.time_zone, hours=hours), start, end), start, end)


def _hours_by_worker(worker_ids: Iterable[int]) -> dict[int, list[slots.Hours]]:
    hours: dict[int, list[slots.Hours]] = defaultdict(list)
    for h in WorkingHours.objects.filter(worker_id__in=list(worker_ids)):
        hours[h.worker_id].append(slots.Hours(h.weekday, h.start, h.end))
    return hours


# --- writing the read models ------------------------------------------------------------


def area_of(latitude: Decimal, longitude: Decimal) -> tuple[Decimal, Decimal]:
    """The south-west corner of the 0.1-degree grid cell containing the point."""

    def floor(value: Decimal) -> Decimal:
        return Decimal(math.floor(Decimal(value) / AREA_CELL_DEGREES)) * AREA_CELL_DEGREES

    return floor(latitude), floor(longitude)


def area_key(latitude: Decimal, longitude: Decimal) -> str:
    """The area label stored in ``TradeAreaCapacity.area``, e.g. ``"51.5,-0.2"`` for Islington (51.536, -0.103)."""
    lat, lon = area_of(latitude, longitude)
    return f"{lat:.1f},{lon:.1f}"


def refresh_worker_days(worker_id: int, days: Iterable[date]) -> None:
    """Recompute ``worker_id``'s ``WorkerDayCapacity`` rows for local ``days``, then its areas' ``TradeAreaCapacity``.

    Idempotent and order-insensitive: everything is recomputed from the source tables.  A
    worker that is inactive or gone has no rows (they are deleted).  Runs in (or opens) a
    transaction.

    Two consumer instances may project the same worker day (or area) at once.  So the read
    model's own rows are claimed first (missing ones inserted, then all locked in day order)
    and only then are the source tables read: whoever waits reads them after the other has
    committed, so an older computation never overwrites a newer one.  Only read-model rows are
    locked, never a worker or trade, so bookings never wait for a projection (or for a replay,
    which runs in one long transaction).  Two batches that lock the same rows in opposite
    orders can deadlock; Postgres aborts one, and the runner retries it as a transient error.
    """
    wanted = sorted(set(days))
    if not wanted:
        return
    with transaction.atomic():
        owner_id = Worker.objects.filter(pk=worker_id).values_list("owner_id", flat=True).first()
        if owner_id is None:  # the worker is gone: drop what was projected for it
            owner_id = WorkerDayCapacity.objects.filter(worker_id=worker_id).values_list("owner_id", flat=True).first()
            if owner_id is None:
                return
        WorkerDayCapacity.objects.bulk_create(
            [WorkerDayCapacity(worker_id=worker_id, owner_id=owner_id, day=day) for day in wanted], ignore_conflicts=True
        )
        _locked(WorkerDayCapacity.objects.filter(worker_id=worker_id, day__in=wanted).order_by("day"))
        worker = Worker.objects.filter(pk=worker_id).first()  # read after the lock, like everything below
        if worker is None or not worker.active:
            WorkerDayCapacity.objects.filter(worker_id=worker_id, day__in=wanted).delete()
        else:
            span = (local_day_bounds(wanted[0], worker.time_zone)[0], local_day_bounds(wanted[-1], worker.time_zone)[1])
            availability = worker_availability(worker=worker, start=span[0], end=span[1])
            rows = [
                WorkerDayCapacity(
                    worker_id=worker.pk, owner_id=worker.owner_id, day=day, **compute_worker_day(worker, day, availability=availability)
                )
                for day in wanted
            ]
            WorkerDayCapacity.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["worker_id", "day"], update_fields=[*_DAY_FIELDS, "updated_at"]
            )
        refresh_trade_areas(owner_id=owner_id, days=wanted)


def _locked(rows: QuerySet[Any]) -> None:
    """Lock ``rows`` (``FOR UPDATE``, in the queryset's order) until the transaction ends."""
    list(rows.select_for_update().values_list("pk", flat=True))


def refresh_trade_areas(*, owner_id: int, days: Sequence[date]) -> None:
    """Recompute ``TradeAreaCapacity`` for every trade of ``owner_id``'s business, in its area, on ``days``.

    Sums over every active worker of every business with that trade whose base lies in the same
    grid cell.  ``workers`` counts those with working time that day; ``fully_booked_workers``
    those of them whose longest free stretch is under :data:`CAPACITY_MIN_FREE_MINUTES`.  A worker
    day with no ``WorkerDayCapacity`` row yet counts as its plain weekly hours.  A (trade, area,
    day) with no working time left keeps its row, with zeros.  Must run inside a transaction;
    the rows are claimed and locked before anything is read (see :func:`refresh_worker_days`).
    """
    profile = TradespersonProfile.objects.filter(user_id=owner_id).first()
    if profile is None:
        return
    lat, lon = area_of(profile.base_latitude, profile.base_longitude)
    area = area_key(profile.base_latitude, profile.base_longitude)
    trade_slugs = sorted(profile.trades.values_list("slug", flat=True))
    if not trade_slugs:
        return
    TradeAreaCapacity.objects.bulk_create(
        [TradeAreaCapacity(trade_slug=slug, area=area, day=day) for slug in trade_slugs for day in days], ignore_conflicts=True
    )
    _locked(TradeAreaCapacity.objects.filter(trade_slug__in=trade_slugs, area=area, day__in=days).order_by("trade_slug", "day"))
    neighbours = TradespersonProfile.objects.filter(
        user__is_active=True,
        base_latitude__gte=lat,
        base_latitude__lt=lat + AREA_CELL_DEGREES,
        base_longitude__gte=lon,
        base_longitude__lt=lon + AREA_CELL_DEGREES,
    )
    for slug in trade_slugs:
        owners = list(neighbours.filter(trades__slug=slug).values_list("user_id", flat=True))
        workers = list(Worker.objects.filter(owner_id__in=owners, active=True))
        rows = {
            (r.worker_id, r.day): r
            for r in WorkerDayCapacity.objects.filter(worker_id__in=[w.pk for w in workers], day__in=days).only(
                "worker_id", "day", "working_minutes", "free_minutes", "longest_free_minutes"
            )
        }
        hours = _hours_by_worker(w.pk for w in workers if any((w.pk, d) not in rows for d in days))
        for day in days:
            totals = {"workers": 0, "fully_booked_workers": 0, "working_minutes": 0, "free_minutes": 0}
            for worker in workers:
                row = rows.get((worker.pk, day))
                if row is not None:
                    working, free, longest = row.working_minutes, row.free_minutes, row.longest_free_minutes
                else:
                    plain = _plain_intervals(worker, hours.get(worker.pk, []), day)
                    working = free = _minutes(plain)
                    longest = _longest(plain)
                if working <= 0:
                    continue
                totals["workers"] += 1
                totals["fully_booked_workers"] += int(longest < CAPACITY_MIN_FREE_MINUTES)
                totals["working_minutes"] += working
                totals["free_minutes"] += free
            TradeAreaCapacity.objects.filter(trade_slug=slug, area=area, day=day).update(
                area_label=profile.base_place[:120], updated_at=timezone.now(), **totals
            )


# --- the projection ---------------------------------------------------------------------


class _Appointment(TypedDict):
    """What ``appointment.booked`` / ``cancelled`` / ``rescheduled`` share that the capacity handlers read."""

    appointment_id: int
    worker_id: int
    starts_at: str
    ends_at: str
    time_zone: NotRequired[str]


class CapacityProjection(EventHandler):
    """Maintains ``WorkerDayCapacity`` and ``TradeAreaCapacity`` (consumer ``capacity``).

    Every event only says *which* worker days changed; the rows are then recomputed from the
    source tables (hours, time off, booked appointments), never adjusted by deltas.  So handling
    is idempotent (the same event twice gives the same rows) and insensitive to order (an old
    event arriving late recomputes from the current state, not from the event's), which also
    makes a replay rebuild exactly what the live consumer built.  Handlers run inside the
    consumer runner's transaction (or the replay's); rows are locked as
    :func:`refresh_worker_days` describes.

    - ``appointment.booked`` / ``cancelled``: the worker's local days the appointment (plus its
      travel buffer) touches;
    - ``appointment.rescheduled``: those days of the previous worker and time, and of the new ones;
    - ``worker.availability_changed``: for ``time_off`` the days in [from, to] (from yesterday
      to a year ahead); otherwise every day from today to today + :data:`CAPACITY_HORIZON_DAYS`,
      plus later days that already have a row (bookings further ahead).
    """

    def reset(self) -> None:
        WorkerDayCapacity.objects.all().delete()
        TradeAreaCapacity.objects.all().delete()

    def on_appointment_booked(self, event: Envelope) -> None:
        data = event.payload(_Appointment)
        self._refresh({data["worker_id"]: self._appointment_days(data["worker_id"], data["starts_at"], data["ends_at"], data)})

    on_appointment_cancelled = on_appointment_booked

    def on_appointment_rescheduled(self, event: Envelope) -> None:
        data = event.payload(ev.AppointmentRescheduledV1)
        previous_worker_id = data.get("previous_worker_id") or data["worker_id"]
        affected: dict[int, set[date]] = defaultdict(set)
        affected[previous_worker_id] |= self._appointment_days(
            previous_worker_id, data["previous_starts_at"], data["previous_ends_at"], data
        )
        affected[data["worker_id"]] |= self._appointment_days(data["worker_id"], data["starts_at"], data["ends_at"], data)
        self._refresh(affected)

    def on_worker_availability_changed(self, event: Envelope) -> None:
        data = event.payload(ev.WorkerAvailabilityChangedV1)
        worker_id = data["worker_id"]
        worker = Worker.objects.filter(pk=worker_id).first()
        zone = worker.time_zone if worker is not None else "UTC"
        today = timezone.now().astimezone(ZoneInfo(zone)).date()
        if data["change"] == "time_off" and data.get("from") and data.get("to"):
            first, last = today - timedelta(days=1), today + timedelta(days=TIME_OFF_HORIZON_DAYS)
            days = {day for day in local_days(_parse(data["from"]), _parse(data["to"]), zone) if first <= day <= last}
        else:
            days = {today + timedelta(days=n) for n in range(CAPACITY_HORIZON_DAYS + 1)}
            days |= set(WorkerDayCapacity.objects.filter(worker_id=worker_id, day__gt=today).values_list("day", flat=True))
        self._refresh({worker_id: days})

    @staticmethod
    def _appointment_days(worker_id: int, starts_at: str, ends_at: str, data: _Appointment) -> set[date]:
        """Local days of ``worker_id`` that ``[starts_at, ends_at + travel buffer)`` touches.

        The buffer is the larger of the worker's current one and the appointment's own, so a
        buffer running past midnight is covered whichever applied.
        """
        worker = Worker.objects.filter(pk=worker_id).first()
        zone = worker.time_zone if worker is not None else data.get("time_zone") or "UTC"
        buffers = [worker.travel_buffer_minutes if worker is not None else 0]
        buffers += Appointment.objects.filter(pk=data["appointment_id"]).values_list("travel_buffer_minutes", flat=True)
        return set(local_days(_parse(starts_at), _parse(ends_at) + timedelta(minutes=max(buffers)), zone))

    @staticmethod
    def _refresh(affected: dict[int, set[date]]) -> None:
        for worker_id in sorted(affected):
            refresh_worker_days(worker_id, affected[worker_id])


# --- reading ----------------------------------------------------------------------------


def pro_has_capacity(*, owner_id: int, window_start: datetime, window_end: datetime, minutes: int = CAPACITY_MIN_FREE_MINUTES) -> bool:
    """Whether any active worker of ``owner_id``'s business has ``minutes`` of free time in a row inside the window.

    Reads ``WorkerDayCapacity``; a (worker, day) not projected yet counts as its plain weekly
    hours, so a business never looks fully booked just because nothing was projected.  A
    business with no active workers counts as having capacity.  The part of the window already
    past does not count.  Eventually consistent: a booking made a moment ago may not be
    projected yet (see the module docstring).
    """
    workers = list(Worker.objects.filter(owner_id=owner_id, active=True))
    if not workers:
        return True
    start, end = max(window_start, timezone.now()).astimezone(UTC), window_end.astimezone(UTC)
    needed = timedelta(minutes=minutes)
    if end - start < needed:
        return False
    days = {w.pk: local_days(start, end, w.time_zone) for w in workers}
    rows = {
        (worker_id, day): intervals
        for worker_id, day, intervals in WorkerDayCapacity.objects.filter(
            worker_id__in=list(days), day__in={d for ds in days.values() for d in ds}
        ).values_list("worker_id", "day", "free_intervals")
    }
    hours = _hours_by_worker(w.pk for w in workers if any((w.pk, d) not in rows for d in days[w.pk]))
    for worker in workers:
        free: list[slots.Interval] = []
        for day in days[worker.pk]:
            stored = rows.get((worker.pk, day))
            if stored is None:
                free += _plain_intervals(worker, hours.get(worker.pk, []), day)
            else:
                free += [slots.Interval(_parse(a), _parse(b)) for a, b in stored]
        # Merging joins a stretch that runs on past local midnight (night shifts, 24-hour cover).
        if any(i.end - i.start >= needed for i in _clip(slots._merge(free), start, end)):
            return True
    return False
