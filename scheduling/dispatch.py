"""The dispatch board: a business's workers by days, with what is booked, what is left and what looks wrong.

Read-only; it backs the tradesperson's week calendar and the dispatch board (``GET /api/dispatch/``), and
lists the board's unassigned queue (:func:`unassigned_queue`).  The board's writes (moves, queue bookings,
the emergency reserve) live in :mod:`scheduling.services.dispatching`.

Time zones (decision): the board is the dispatcher's view, so its days are local dates in the
**owner's** zone (``owner.time_zone``) and every appointment's ``local_start``/``local_end``/``day``
is shown in that zone too.  Working hours are wall-clock times in each **worker's** own zone:
they are turned into real UTC intervals with :func:`scheduling.slots.working_intervals` (which
handles DST gaps and folds) and then clipped to the owner's day.  A worker in another zone
therefore shows the part of their shifts that falls on the dispatcher's day.  A DST day is
23 or 25 hours long and working minutes follow the clock (08:00-18:00 is still ten hours; a
shift that spans the change is an hour shorter or longer).

Per cell (worker, day):

- ``working_minutes``: the worker's working time on that day.
- ``booked_minutes``: booked appointments themselves (in or out of hours) plus their travel
  buffers where the buffer falls inside working time (a buffer running past the end of the day
  is the trip home, as in :mod:`scheduling.slots`, and uses no capacity).
- ``free_minutes`` (remaining capacity): working time minus appointments with their buffers
  minus time off; never negative.

An appointment is listed in the cell of the day it starts on (or the board's first day if it
started earlier); its minutes count on every day it covers.  Only ``booked`` appointments appear.

Flags (human sentences) per appointment: its dependency conflict (``conflict_reason``); too
little time to travel from the worker's previous job that day (see :func:`travel_minutes`; an
outright overlap cannot exist, the database's exclusion constraint keeps a worker's booked
appointments apart, but a buffer shortened after booking can leave a gap too tight); lying
outside working hours or in time off (both can change after booking).  A cell repeats its
appointments' flags, each prefixed with the start and job title, and adds "Over capacity" when
more is booked than there is working time.  ``Board.conflicts`` counts flagged appointments.

Queries: four, whatever the size of the board (workers, appointments with their jobs and
customers, working hours, time off).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.geo import haversine_km

from . import route, selectors, slots
from .models import Appointment, TimeOff, Worker, WorkingHours
from .serializers import utc_iso

MAX_BOARD_DAYS = 31


@dataclass(frozen=True)
class BoardAppointment:
    appointment_id: int
    job_id: int
    job_title: str
    place: str
    customer_name: str
    worker_id: int
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC
    local_start: str  # "HH:MM" in the owner's zone
    local_end: str  # "HH:MM" in the owner's zone
    day: date  # the board day it is listed on (the owner's local date of its start)
    status: str
    confirmed: bool
    flags: list[str]
    has_conflict: bool
    confirmed_by_sms: bool = False
    reschedule_requested: bool = False  # the customer asked for another time (a reply R to a reminder)


@dataclass(frozen=True)
class Cell:
    worker_id: int
    day: date
    appointments: list[BoardAppointment]
    working_minutes: int
    booked_minutes: int
    free_minutes: int
    flags: list[str]


@dataclass(frozen=True)
class Board:
    owner_id: int
    time_zone: str  # the owner's: days and local times are in it
    days: list[date]
    workers: list[Worker]
    cells: dict[tuple[int, date], Cell]  # keyed (worker_id, day)
    conflicts: int  # how many appointments carry at least one flag
    week_start: date  # the Monday of the week the board starts in


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def travel_minutes(km: float) -> int:
    """Estimated minutes to drive ``km`` (straight line); one estimate for flags and routes (see :mod:`scheduling.route`)."""
    return route.travel_minutes(km)


# --- interval arithmetic on UTC intervals ----------------------------------------------------


def _union(intervals: Iterable[slots.Interval]) -> list[slots.Interval]:
    merged: list[slots.Interval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if interval.end <= interval.start:
            continue
        if merged and interval.start <= merged[-1].end:
            merged[-1] = slots.Interval(merged[-1].start, max(merged[-1].end, interval.end))
        else:
            merged.append(interval)
    return merged


def _intersect(a: Iterable[slots.Interval], b: Iterable[slots.Interval]) -> list[slots.Interval]:
    b = list(b)
    out = [slots.Interval(max(x.start, y.start), min(x.end, y.end)) for x in a for y in b if x.overlaps(y)]
    return _union(out)


def _subtract(a: Iterable[slots.Interval], b: Iterable[slots.Interval]) -> list[slots.Interval]:
    remaining = _union(a)
    for cut in _union(b):
        pieces: list[slots.Interval] = []
        for interval in remaining:
            if not interval.overlaps(cut):
                pieces.append(interval)
                continue
            if interval.start < cut.start:
                pieces.append(slots.Interval(interval.start, cut.start))
            if cut.end < interval.end:
                pieces.append(slots.Interval(cut.end, interval.end))
        remaining = pieces
    return remaining


def _minutes(intervals: Iterable[slots.Interval]) -> int:
    return int(sum((i.end - i.start).total_seconds() for i in _union(intervals)) // 60)


def _gap_minutes(delta: timedelta) -> int:
    return math.floor(delta.total_seconds() / 60)


# --- the board -------------------------------------------------------------------------------


def _day_window(day: date, zone: ZoneInfo) -> slots.Interval:
    """The owner's local day as a UTC interval (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return slots.Interval(start, end)


def _label(appointment: Appointment) -> str:
    return appointment.job.place or appointment.job.title


def _appointment_flags(
    appointment: Appointment, previous: Appointment | None, availability: slots.Availability, time_off: list[TimeOff]
) -> list[str]:
    flags: list[str] = []
    if appointment.conflict_reason:
        flags.append(appointment.conflict_reason)
    if previous is not None:
        # Never negative: the exclusion constraint keeps a worker's booked appointments apart.
        gap = _gap_minutes(appointment.starts_at - previous.ends_at)
        km = haversine_km(
            float(previous.job.latitude), float(previous.job.longitude), float(appointment.job.latitude), float(appointment.job.longitude)
        )
        needed = travel_minutes(km)
        if gap < needed:
            flags.append(f"Travel from {_label(previous)} needs ~{needed} min; only {gap} min between jobs.")
    job = slots.Interval(appointment.starts_at, appointment.ends_at)
    if not any(interval.contains(job) for interval in slots.working_intervals(availability, job.start, job.end)):
        flags.append("Outside the worker's working hours.")
    clashing = [off for off in time_off if off.starts_at < job.end and job.start < off.ends_at]
    if clashing:
        reason = next((off.reason for off in clashing if off.reason), "")
        flags.append(f"During the worker's time off ({reason})." if reason else "During the worker's time off.")
    return flags


def dispatch_board(*, owner: User, start_day: date, days: int = 7, worker_id: int | None = None) -> Board:
    """The board for ``owner``'s business: ``days`` local days from ``start_day`` (in the owner's zone).

    Workers: the owner's active workers plus any inactive one with a booked appointment on the
    board; with ``worker_id`` only that worker (404 ``not_found`` if it is not the owner's).
    Refuses ``days`` outside 1..:data:`MAX_BOARD_DAYS` (400 ``invalid_days``).  Four queries.
    """
    if not 1 <= days <= MAX_BOARD_DAYS:
        raise ServiceError(f"Show between 1 and {MAX_BOARD_DAYS} days.", code="invalid_days", kind=Refusal.INVALID)
    zone_name = owner.time_zone
    zone = ZoneInfo(zone_name)
    board_days = [start_day + timedelta(days=i) for i in range(days)]
    windows = {day: _day_window(day, zone) for day in board_days}
    period = slots.Interval(windows[board_days[0]].start, windows[board_days[-1]].end)

    worker_qs = Worker.objects.filter(owner=owner)
    if worker_id is not None:
        workers = list(worker_qs.filter(pk=worker_id))
        if not workers:
            raise ServiceError("No such worker in your business.", code="not_found", kind=Refusal.NOT_FOUND)
    else:
        workers = list(worker_qs.filter(active=True))

    # A travel buffer is at most a day (a check constraint), so this margin finds every appointment
    # whose blocked range reaches into the board.
    appointment_qs = Appointment.objects.filter(
        worker__owner=owner,
        status=Appointment.Status.BOOKED,
        starts_at__lt=period.end,
        ends_at__gt=period.start - timedelta(days=1),
    ).select_related("job", "job__customer", "worker")
    if worker_id is not None:
        appointment_qs = appointment_qs.filter(worker_id=worker_id)
    appointments = list(appointment_qs.order_by("starts_at", "pk"))
    known = {w.pk for w in workers}
    for appointment in appointments:
        if appointment.worker_id not in known:
            known.add(appointment.worker_id)
            workers.append(appointment.worker)
    workers.sort(key=lambda w: w.pk)
    worker_ids = [w.pk for w in workers]

    hours: dict[int, list[slots.Hours]] = defaultdict(list)
    for row in WorkingHours.objects.filter(worker_id__in=worker_ids):
        hours[row.worker_id].append(slots.Hours(row.weekday, row.start, row.end))
    time_off: dict[int, list[TimeOff]] = defaultdict(list)
    for off in TimeOff.objects.filter(worker_id__in=worker_ids, starts_at__lt=period.end, ends_at__gt=period.start):
        time_off[off.worker_id].append(off)
    by_worker: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in appointments:
        by_worker[appointment.worker_id].append(appointment)

    cells: dict[tuple[int, date], Cell] = {}
    conflicts = 0
    for worker in workers:
        availability = slots.Availability(time_zone=worker.time_zone, hours=hours[worker.pk])
        working_all = slots.working_intervals(availability, period.start, period.end)
        off_intervals = [slots.Interval(t.starts_at, t.ends_at) for t in time_off[worker.pk]]
        own = by_worker[worker.pk]
        listed: dict[date, list[Appointment]] = defaultdict(list)
        for appointment in own:
            if appointment.ends_at <= period.start:
                continue  # only its travel buffer reaches into the board
            local_day = appointment.starts_at.astimezone(zone).date()
            listed[max(local_day, board_days[0])].append(appointment)
        for day in board_days:
            window = windows[day]
            working = _intersect(working_all, [window])
            jobs = _intersect([slots.Interval(a.starts_at, a.ends_at) for a in own], [window])
            buffers = [slots.Interval(a.ends_at, a.ends_at + timedelta(minutes=a.travel_buffer_minutes)) for a in own]
            blocked = _union([*jobs, *_intersect(buffers, working)])
            working_minutes = _minutes(working)
            booked_minutes = _minutes(blocked)
            free_minutes = max(0, _minutes(_subtract(working, [*blocked, *off_intervals])))

            board_appointments: list[BoardAppointment] = []
            cell_flags: list[str] = []
            previous: Appointment | None = None
            for appointment in listed[day]:
                flags = _appointment_flags(appointment, previous, availability, time_off[worker.pk])
                previous = appointment
                local_start = appointment.starts_at.astimezone(zone).strftime("%H:%M")
                if flags:
                    conflicts += 1
                    cell_flags.extend(f"{local_start} {appointment.job.title}: {flag}" for flag in flags)
                board_appointments.append(
                    BoardAppointment(
                        appointment_id=appointment.pk,
                        job_id=appointment.job_id,
                        job_title=appointment.job.title,
                        place=appointment.job.place,
                        customer_name=str(appointment.job.customer),
                        worker_id=worker.pk,
                        starts_at=appointment.starts_at.astimezone(UTC),
                        ends_at=appointment.ends_at.astimezone(UTC),
                        local_start=local_start,
                        local_end=appointment.ends_at.astimezone(zone).strftime("%H:%M"),
                        day=day,
                        status=appointment.status,
                        confirmed=appointment.confirmed_at is not None,
                        confirmed_by_sms=appointment.confirmed_at is not None and appointment.confirmed_via == "sms",
                        reschedule_requested=appointment.reschedule_requested_at is not None,
                        flags=flags,
                        has_conflict=bool(flags),
                    )
                )
            if booked_minutes > working_minutes:
                cell_flags.append(f"Over capacity: {booked_minutes} min booked, {working_minutes} min of working time.")
            cells[(worker.pk, day)] = Cell(
                worker_id=worker.pk,
                day=day,
                appointments=board_appointments,
                working_minutes=working_minutes,
                booked_minutes=booked_minutes,
                free_minutes=free_minutes,
                flags=cell_flags,
            )

    return Board(
        owner_id=owner.pk,
        time_zone=zone_name,
        days=board_days,
        workers=workers,
        cells=cells,
        conflicts=conflicts,
        week_start=week_start(start_day),
    )


def _appointment_json(appointment: BoardAppointment) -> dict[str, Any]:
    return {
        "appointment_id": appointment.appointment_id,
        "job_id": appointment.job_id,
        "job_title": appointment.job_title,
        "place": appointment.place,
        "customer_name": appointment.customer_name,
        "worker_id": appointment.worker_id,
        "starts_at": utc_iso(appointment.starts_at),
        "ends_at": utc_iso(appointment.ends_at),
        "local_start": appointment.local_start,
        "local_end": appointment.local_end,
        "day": appointment.day.isoformat(),
        "status": appointment.status,
        "confirmed": appointment.confirmed,
        "confirmed_by_sms": appointment.confirmed_by_sms,
        "reschedule_requested": appointment.reschedule_requested,
        "flags": list(appointment.flags),
        "has_conflict": appointment.has_conflict,
    }


def board_json(board: Board) -> dict[str, Any]:
    """``board`` as plain JSON types: dates as ISO dates, instants as UTC ISO 8601 with ``Z``; cells by worker, then day."""
    return {
        "week_start": board.week_start.isoformat(),
        "time_zone": board.time_zone,
        "days": [day.isoformat() for day in board.days],
        "workers": [{"id": worker.pk, "name": worker.name} for worker in board.workers],
        "cells": [
            {
                "worker_id": cell.worker_id,
                "day": cell.day.isoformat(),
                "working_minutes": cell.working_minutes,
                "booked_minutes": cell.booked_minutes,
                "free_minutes": cell.free_minutes,
                "flags": list(cell.flags),
                "appointments": [_appointment_json(a) for a in cell.appointments],
            }
            for worker in board.workers
            for day in board.days
            for cell in [board.cells[(worker.pk, day)]]
        ],
        "conflicts": board.conflicts,
    }


# --- the unassigned queue ----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """Something on the board waiting for a worker: an awarded job never booked, or an appointment of a worker who
    no longer takes appointments (``appointment_id`` set).  ``when`` is the appointment's start in the owner's zone."""

    job_id: int
    job_title: str
    place: str
    customer_name: str
    appointment_id: int | None
    note: str
    when: str


def unassigned_queue(*, owner: User) -> list[QueueItem]:
    """The board's queue: the owner's awarded jobs without an appointment, then stranded appointments. Two queries."""
    zone = ZoneInfo(owner.time_zone)
    items = [
        QueueItem(
            job_id=job.pk,
            job_title=job.title,
            place=job.place,
            customer_name=str(job.customer),
            appointment_id=None,
            note="Awarded, not booked yet",
            when="",
        )
        for job in selectors.unassigned_jobs(owner_id=owner.pk)
    ]
    items += [
        QueueItem(
            job_id=a.job_id,
            job_title=a.job.title,
            place=a.job.place,
            customer_name=str(a.job.customer),
            appointment_id=a.pk,
            note=f"{a.worker.name} no longer takes appointments",
            when=a.starts_at.astimezone(zone).strftime("%a %d %b %H:%M"),
        )
        for a in selectors.stranded_appointments(owner_id=owner.pk)
    ]
    return items


def queue_json(items: list[QueueItem]) -> list[dict[str, Any]]:
    return [
        {
            "job_id": i.job_id,
            "job_title": i.job_title,
            "place": i.place,
            "appointment_id": i.appointment_id,
            "note": i.note,
            "when": i.when,
        }
        for i in items
    ]
