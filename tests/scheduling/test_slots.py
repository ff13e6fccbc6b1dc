"""The pure slot model: DST, working hours, travel buffer, time off, the past (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.slots import Availability, Booked, Hours, Interval, Problem, free_slots, local_exists, slot_problem, working_intervals

LONDON = ZoneInfo("Europe/London")
WEEKDAYS_9_TO_5 = [Hours(d, time(9), time(17)) for d in range(5)]
NIGHT_OWL = [Hours(d, time(0), time(6)) for d in range(7)]
NOW = datetime(2027, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON, fold=fold)


def test_the_spring_forward_gap_is_never_offered_and_is_refused() -> None:
    availability = Availability("Europe/London", NIGHT_OWL, travel_buffer=timedelta(0))
    gap = london(2027, 3, 28, 1, 30)
    assert not local_exists(gap)
    assert slot_problem(availability, start=gap, duration=HOUR, now=NOW) == Problem.NONEXISTENT_TIME
    offered = free_slots(
        availability, duration=timedelta(minutes=30), window_start=london(2027, 3, 28), window_end=london(2027, 3, 28, 6), now=NOW
    )
    local = [s.astimezone(LONDON).strftime("%H:%M") for s in offered]
    # 00:00-06:00 on the night the clocks jump from 01:00 to 02:00 is five real hours.
    assert local[:3] == ["00:00", "00:30", "02:00"] and "01:30" not in local and len(offered) == 10


def test_both_instants_of_an_ambiguous_fall_back_time_are_real_slots() -> None:
    availability = Availability("Europe/London", NIGHT_OWL, travel_buffer=timedelta(0))
    first, second = london(2027, 10, 31, 1, 30, fold=0), london(2027, 10, 31, 1, 30, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == HOUR
    offered = free_slots(
        availability, duration=timedelta(minutes=30), window_start=london(2027, 10, 31), window_end=london(2027, 10, 31, 7), now=NOW
    )
    assert first.astimezone(UTC) in offered and second.astimezone(UTC) in offered
    assert len(offered) == 14  # seven real hours that night


def test_working_hours_follow_the_local_clock_across_dst() -> None:
    availability = Availability("Europe/London", WEEKDAYS_9_TO_5)
    winter = working_intervals(availability, datetime(2027, 3, 26, tzinfo=UTC), datetime(2027, 3, 27, tzinfo=UTC))
    summer = working_intervals(availability, datetime(2027, 3, 29, tzinfo=UTC), datetime(2027, 3, 30, tzinfo=UTC))
    assert winter[0].start.hour == 9 and summer[0].start.hour == 8


def test_travel_buffer_follows_each_appointment() -> None:
    booked = Booked(london(2027, 3, 3, 10), london(2027, 3, 3, 11), timedelta(minutes=30), key=1)
    availability = Availability("Europe/London", WEEKDAYS_9_TO_5, travel_buffer=timedelta(minutes=30), booked=[booked])
    assert slot_problem(availability, start=london(2027, 3, 3, 11), duration=HOUR, now=NOW) == Problem.OVERLAP
    assert slot_problem(availability, start=london(2027, 3, 3, 11, 30), duration=HOUR, now=NOW) is None
    assert slot_problem(availability, start=london(2027, 3, 3, 9), duration=HOUR, now=NOW) == Problem.OVERLAP  # no time to travel
    assert slot_problem(availability, start=london(2027, 3, 3, 10), duration=HOUR, now=NOW, ignore=1) is None


def test_refusals() -> None:
    off = Interval(london(2027, 3, 4, 12), london(2027, 3, 4, 14))
    availability = Availability("Europe/London", WEEKDAYS_9_TO_5, time_off=[off])
    assert slot_problem(availability, start=london(2027, 2, 1, 10), duration=HOUR, now=NOW) == Problem.IN_THE_PAST
    assert slot_problem(availability, start=london(2027, 3, 4, 16, 30), duration=HOUR, now=NOW) == Problem.OUTSIDE_HOURS
    assert slot_problem(availability, start=london(2027, 3, 6, 10), duration=HOUR, now=NOW) == Problem.OUTSIDE_HOURS  # Saturday
    assert slot_problem(availability, start=london(2027, 3, 4, 13), duration=HOUR, now=NOW) == Problem.TIME_OFF
    assert slot_problem(availability, start=london(2027, 3, 4, 10), duration=timedelta(0), now=NOW) == Problem.BAD_DURATION


def test_split_shifts_that_touch_are_one_stretch() -> None:
    availability = Availability("Europe/London", [Hours(0, time(9), time(12)), Hours(0, time(12), time(17))])
    assert slot_problem(availability, start=london(2027, 3, 1, 11), duration=2 * HOUR, now=NOW) is None


zones = st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"])
quarter_hours = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def weekly_hours(draw: st.DrawFn) -> list[Hours]:
    result = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        start, end = sorted(draw(st.lists(quarter_hours, min_size=2, max_size=2, unique=True)))
        result.append(Hours(draw(st.integers(min_value=0, max_value=6)), start, end))
    return result


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Availability, datetime, datetime, timedelta]:
    window_start = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * draw(st.integers(min_value=0, max_value=4 * 24 * 360)))
    window_end = window_start + timedelta(days=draw(st.integers(min_value=1, max_value=8)))
    buffer = timedelta(minutes=draw(st.sampled_from([0, 15, 30, 60])))
    booked = []
    for key in range(draw(st.integers(min_value=0, max_value=5))):
        start = window_start + timedelta(minutes=15 * draw(st.integers(min_value=-100, max_value=800)))
        booked.append(Booked(start, start + timedelta(minutes=15 * draw(st.integers(1, 16))), buffer, key=key))
    off = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        start = window_start + timedelta(minutes=15 * draw(st.integers(min_value=-100, max_value=800)))
        off.append(Interval(start, start + timedelta(minutes=15 * draw(st.integers(1, 40)))))
    now = window_start + timedelta(minutes=15 * draw(st.integers(min_value=-200, max_value=200)))
    duration = timedelta(minutes=15 * draw(st.integers(min_value=1, max_value=16)))
    return Availability(draw(zones), draw(weekly_hours()), buffer, off, booked), window_end, now, duration


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_every_offered_slot_is_real_future_inside_hours_and_clear(scenario: tuple[Availability, datetime, datetime, timedelta]) -> None:
    availability, window_end, now, duration = scenario
    window_start = window_end - timedelta(days=8)
    offered = free_slots(availability, duration=duration, window_start=window_start, window_end=window_end, now=now)
    assert offered == sorted(set(offered))
    zone = availability.zone
    for start in offered:
        end = start + duration
        assert start >= now and window_start <= start < window_end
        assert local_exists(start.astimezone(zone))
        # Inside the weekly hours by the local clock (checked independently of working_intervals).
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        assert any(
            h.weekday == local_start.weekday()
            and h.start <= local_start.time()
            and (local_end.date() == local_start.date() and local_end.time() <= h.end)
            for h in availability.hours
        ) or _spans_merged_hours(availability, start, end)
        for b in availability.booked:
            assert end + availability.travel_buffer <= b.start or start >= b.end + b.buffer
        for off in availability.time_off:
            assert end <= off.start or start >= off.end


def _spans_merged_hours(availability: Availability, start: datetime, end: datetime) -> bool:
    """A job may span touching shifts (09-12 + 12-17) or sit in a DST-stretched shift; check minute by minute."""
    zone = availability.zone
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        inside = any(h.weekday == local.weekday() and h.start <= local.time().replace(tzinfo=None) < h.end for h in availability.hours)
        if not inside:
            return False
        moment += timedelta(minutes=15)
    return True


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.integers(min_value=0, max_value=4 * 24 * 8))
def test_slot_problem_agrees_with_free_slots(scenario: tuple[Availability, datetime, datetime, timedelta], offset: int) -> None:
    availability, window_end, now, duration = scenario
    window_start = window_end - timedelta(days=8)
    candidate = window_start + timedelta(minutes=15 * offset)
    offered = free_slots(
        availability, duration=duration, window_start=window_start, window_end=window_end, now=now, step=timedelta(minutes=15)
    )
    if candidate in offered:
        assert slot_problem(availability, start=candidate, duration=duration, now=now) is None
    if slot_problem(availability, start=candidate, duration=duration, now=now) is None and candidate < window_end:
        # Every free quarter hour aligned with its shift's start is offered on a 15-minute grid.
        aligned = any(
            (candidate - interval.start) % timedelta(minutes=15) == timedelta(0)
            for interval in working_intervals(availability, candidate, candidate + duration)
        )
        assert candidate in offered or not aligned
