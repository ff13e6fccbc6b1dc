"""Free slots, computed without the database: the one rule for "may this worker start a job then?".

Everything here works on UTC instants.  Weekly working hours are wall-clock times in the
worker's zone; :func:`working_intervals` turns them into real UTC intervals day by day with
``zoneinfo``, so:

- a slot is always a real instant: candidates are generated in UTC steps, so a local time that
  does not exist (the spring-forward gap) is never offered, and both instants of an ambiguous
  fall-back time can be offered;
- a shift whose start falls into the gap begins when the clocks resume; a shift whose end is
  ambiguous ends at its later instant (``fold=1``).

The travel buffer follows each appointment: a booked appointment blocks
``[starts_at, ends_at + buffer)``, the very range the database's exclusion constraint compares
(``Appointment.during``), so this module and Postgres agree on what overlaps.  A job must fit
inside one working interval; its trailing buffer may run past the end of the day (travel home).
Time off blocks exactly its own range.

:func:`slot_problem` says why one start is refused (or ``None``); :func:`free_slots` lists the
starts on a grid that have no problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

GRID = timedelta(minutes=30)


class Problem:
    """Why a start is refused (the codes double as API error codes)."""

    IN_THE_PAST = "in_the_past"
    BAD_DURATION = "ends_before_start"
    NONEXISTENT_TIME = "nonexistent_time"
    OUTSIDE_HOURS = "outside_working_hours"
    TIME_OFF = "time_off"
    OVERLAP = "slot_taken"
    RESERVED = "emergency_reserve"


@dataclass(frozen=True)
class Hours:
    """Weekly working hours: weekday 0 = Monday, local wall-clock start < end."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class Booked:
    """A booked appointment; it blocks ``[start, end + buffer)``."""

    start: datetime
    end: datetime
    buffer: timedelta = timedelta(0)
    key: int | None = None  # the appointment id, so a reschedule can ignore itself

    @property
    def blocked(self) -> Interval:
        return Interval(self.start, self.end + self.buffer)


@dataclass(frozen=True)
class Availability:
    """Everything needed to judge a worker's slots."""

    time_zone: str
    hours: Sequence[Hours]
    travel_buffer: timedelta = timedelta(minutes=30)
    time_off: Sequence[Interval] = field(default_factory=tuple)
    booked: Sequence[Booked] = field(default_factory=tuple)
    # Working time per local day kept free for emergencies (the business's EmergencyReserve): a start
    # that would leave less than this free that day is refused.  The dispatcher's board books with 0.
    reserve: timedelta = timedelta(0)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def local_exists(moment: datetime) -> bool:
    """False when ``moment``'s wall-clock time does not exist in its zone (a DST gap)."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    round_trip = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _to_utc(day: date, wall: time, zone: ZoneInfo, *, fold: int) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).replace(fold=fold).astimezone(UTC)


def working_intervals(availability: Availability, start: datetime, end: datetime) -> list[Interval]:
    """The worker's working time touching ``[start, end)`` as merged UTC intervals."""
    zone = availability.zone
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    raw: list[Interval] = []
    day = first
    while day <= last:
        for hours in availability.hours:
            if hours.weekday == day.weekday() and hours.end > hours.start:
                opens = _to_utc(day, hours.start, zone, fold=0)
                closes = _to_utc(day, hours.end, zone, fold=1)
                if closes > opens and closes > start and opens < end:
                    raw.append(Interval(opens, closes))
        day += timedelta(days=1)
    return _merge(raw)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if merged and interval.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def slot_problem(
    availability: Availability, *, start: datetime, duration: timedelta, now: datetime, ignore: int | None = None
) -> str | None:
    """Why the worker cannot do a job of ``duration`` starting at ``start`` (a :class:`Problem`), or None.

    ``ignore`` is an appointment key left out of the overlap check (the one being rescheduled).
    """
    if start.tzinfo is None or now.tzinfo is None:
        raise ValueError("aware datetimes are required")
    if duration <= timedelta(0):
        return Problem.BAD_DURATION
    if not local_exists(start):
        return Problem.NONEXISTENT_TIME
    start = start.astimezone(UTC)
    job = Interval(start, start + duration)
    if start < now:
        return Problem.IN_THE_PAST
    if not any(interval.contains(job) for interval in working_intervals(availability, job.start, job.end)):
        return Problem.OUTSIDE_HOURS
    if any(off.overlaps(job) for off in availability.time_off):
        return Problem.TIME_OFF
    with_travel = Interval(job.start, job.end + availability.travel_buffer)
    if any(b.blocked.overlaps(with_travel) for b in availability.booked if ignore is None or b.key != ignore):
        return Problem.OVERLAP
    if availability.reserve > timedelta(0) and _free_that_day(availability, job, ignore) < availability.reserve:
        return Problem.RESERVED
    return None


def _free_that_day(availability: Availability, job: Interval, ignore: int | None) -> timedelta:
    """Working time left on the job's local day (the worker's zone) once it and its travel are booked too."""
    zone = availability.zone
    day = job.start.astimezone(zone).date()
    day_start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    working = [
        Interval(max(i.start, day_start), min(i.end, day_end))
        for i in working_intervals(availability, day_start, day_end)
        if i.start < day_end and day_start < i.end
    ]
    taken = [Interval(job.start, job.end + availability.travel_buffer), *availability.time_off]
    taken += [b.blocked for b in availability.booked if ignore is None or b.key != ignore]
    free = timedelta(0)
    for interval in working:
        pieces = [interval]
        for cut in taken:
            # What lies before the cut and what lies after it (one of them is the whole piece when they miss).
            pieces = [
                piece
                for p in pieces
                for piece in (Interval(p.start, min(p.end, cut.start)), Interval(max(p.start, cut.end), p.end))
                if piece.end > piece.start
            ]
        free += sum((p.end - p.start for p in pieces), timedelta(0))
    return free


def free_slots(
    availability: Availability,
    *,
    duration: timedelta,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    step: timedelta = GRID,
    limit: int | None = None,
    ignore: int | None = None,
) -> list[datetime]:
    """Free starts (UTC, ascending) in ``[window_start, window_end)`` for a job of ``duration``.

    Candidates run from the start of each working interval in ``step`` increments (so a shift
    starting 09:00 offers 09:00, 09:30, ...); each must pass :func:`slot_problem`.
    """
    if duration <= timedelta(0) or step <= timedelta(0):
        return []
    window_start = max(window_start, now).astimezone(UTC)
    window_end = window_end.astimezone(UTC)
    found: list[datetime] = []
    for interval in working_intervals(availability, window_start, window_end):
        candidate = interval.start
        if candidate < window_start:
            candidate += step * -((candidate - window_start) // step)
        while candidate + duration <= interval.end and candidate < window_end:
            if slot_problem(availability, start=candidate, duration=duration, now=now, ignore=ignore) is None:
                found.append(candidate)
                if limit is not None and len(found) >= limit:
                    return found
            candidate += step
    return found
