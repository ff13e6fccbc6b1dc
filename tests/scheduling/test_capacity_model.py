"""The capacity read model: computing a worker's day, the projection over real emitted events, and trade-area sums."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from marketplace.events.envelope import Envelope
from marketplace.events.models import OutboxEvent
from marketplace.events.registry import ConsumerSpec, get_consumer
from marketplace.events.replay import events_from_outbox, rebuild
from marketplace.events.topics import Topic
from scheduling.capacity import (
    CAPACITY_HORIZON_DAYS,
    CapacityProjection,
    area_key,
    compute_worker_day,
    local_day_bounds,
    pro_has_capacity,
    refresh_worker_days,
)
from scheduling.models import Appointment, TradeAreaCapacity, Worker, WorkerDayCapacity
from scheduling.services import appointment_book, appointment_cancel, appointment_reschedule, time_off_add, worker_set_hours
from tests.factories import pro, trade

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db

CAMBRIDGE = (Decimal("52.20530"), Decimal("0.12180"))


def capacity_consumer() -> ConsumerSpec:
    return get_consumer("capacity")


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _iso(day: date, hour: int, minute: int = 0) -> str:
    return _utc(day, hour, minute).isoformat()


def _last_sunday(month: int) -> date:
    """The next last Sunday of ``month`` (March: clocks go forward in London; October: back), at least a week ahead."""
    today = timezone.now().date()
    for year in (today.year, today.year + 1):
        last = date(year, month, 31)
        sunday = last - timedelta(days=(last.weekday() + 1) % 7)
        if sunday > today + timedelta(days=7):
            return sunday
    raise AssertionError("unreachable")


def _events(after_id: int = 0) -> list[Envelope]:
    ids = set(OutboxEvent.objects.filter(topic=str(Topic.JOBS), id__gt=after_id).values_list("event_id", flat=True))
    return [e for e in events_from_outbox([str(Topic.JOBS)]) if isinstance(e, Envelope) and e.event_id in ids]


def _project(events: list[Envelope], handler: CapacityProjection | None = None) -> int:
    """Apply the events the capacity projection handles, straight to its handler (no inbox: duplicates reach it)."""
    handler = handler or CapacityProjection()
    applied = 0
    for event in events:
        if handler.handles(event.event_type):
            handler.handle(event)
            applied += 1
    return applied


def _last_outbox_id() -> int:
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _rows(model: Any) -> list[dict[str, Any]]:
    return list(model.objects.all().values(*[f.name for f in model._meta.fields if f.name not in {"id", "updated_at"}]))


def _day(worker: Worker, day: date) -> WorkerDayCapacity:
    return WorkerDayCapacity.objects.get(worker_id=worker.pk, day=day)


# --- computing a day ----------------------------------------------------------------------


def test_a_day_is_working_time_minus_time_off_minus_appointments_with_their_travel(customer):
    bob = pro("capcompute")
    worker = worker_all_week(bob, start=time(9), end=time(17), buffer=30)
    monday = future_monday(10)  # winter: London is on UTC
    day = monday.date()
    appointment_book(job=awarded_job(customer, bob, title="A"), worker=worker, starts_at=monday, duration_minutes=120, actor=customer)
    late = monday.replace(hour=16)  # its buffer runs past the end of the day: only the working part counts
    appointment_book(job=awarded_job(customer, bob, title="B"), worker=worker, starts_at=late, duration_minutes=60, actor=customer)
    time_off_add(worker=worker, actor=bob, starts_at=_utc(day, 13), ends_at=_utc(day, 14))

    result = compute_worker_day(worker, day)

    assert result == {
        "working_minutes": 8 * 60 - 60,
        "booked_minutes": 150 + 60,  # 10:00-12:30 (with travel) and 16:00-17:00 (travel after 17:00 not counted)
        "free_minutes": 60 + 30 + 120,
        "longest_free_minutes": 120,
        "free_intervals": [[_iso(day, 9), _iso(day, 10)], [_iso(day, 12, 30), _iso(day, 13)], [_iso(day, 14), _iso(day, 16)]],
        "appointments": 2,
    }
    # The next day is untouched.
    tuesday = compute_worker_day(worker, day + timedelta(days=1))
    assert (tuesday["working_minutes"], tuesday["free_minutes"], tuesday["appointments"]) == (480, 480, 0)


def test_the_day_the_clocks_go_forward_has_23_hours_and_the_day_they_go_back_25(customer):
    bob = pro("capdst")
    worker = worker_all_week(bob, start=time(0), end=time(23, 59), buffer=30)
    spring, autumn = _last_sunday(3), _last_sunday(10)
    assert local_day_bounds(spring, "Europe/London")[1] - local_day_bounds(spring, "Europe/London")[0] == timedelta(hours=23)

    assert compute_worker_day(worker, spring - timedelta(days=7))["working_minutes"] == 24 * 60 - 1
    assert compute_worker_day(worker, spring)["working_minutes"] == 23 * 60 - 1
    assert compute_worker_day(worker, autumn)["working_minutes"] == 25 * 60 - 1

    # 09:00 local on the spring day is 08:00 UTC (BST); with its buffer it blocks 08:00-10:30 UTC.
    nine_local = _utc(spring, 8)
    appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=nine_local, duration_minutes=120, actor=customer)
    result = compute_worker_day(worker, spring)
    assert result["booked_minutes"] == 150
    assert result["free_minutes"] == 23 * 60 - 1 - 150
    assert result["free_intervals"] == [[_iso(spring, 0), _iso(spring, 8)], [_iso(spring, 10, 30), _iso(spring, 22, 59)]]
    assert result["longest_free_minutes"] == 12 * 60 + 29


# --- the projection over real emitted events ------------------------------------------


def test_projecting_the_same_events_twice_or_in_reverse_order_gives_the_same_rows(customer):
    bob = pro("capidem")
    worker = worker_all_week(bob, start=time(9), end=time(17), buffer=30)
    monday = future_monday(10)
    appointment = appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=monday, duration_minutes=60, actor=customer)
    appointment_reschedule(appointment=appointment, starts_at=monday + timedelta(days=1), actor=customer)
    time_off_add(worker=worker, actor=bob, starts_at=monday + timedelta(days=2), ends_at=monday + timedelta(days=2, hours=2))
    events = _events()
    assert {e.event_type for e in events} >= {"worker.availability_changed", "appointment.booked", "appointment.rescheduled"}

    assert _project(events) >= 4
    once = (_rows(WorkerDayCapacity), _rows(TradeAreaCapacity))
    _project(events)
    assert (_rows(WorkerDayCapacity), _rows(TradeAreaCapacity)) == once

    CapacityProjection().reset()
    assert not WorkerDayCapacity.objects.exists() and not TradeAreaCapacity.objects.exists()
    _project(events[::-1])
    assert (_rows(WorkerDayCapacity), _rows(TradeAreaCapacity)) == once

    today = timezone.now().date()
    # Created + hours: the horizon; the booking, the move and the time off: their days.
    days = set(WorkerDayCapacity.objects.filter(worker_id=worker.pk).values_list("day", flat=True))
    assert {today + timedelta(days=n) for n in range(CAPACITY_HORIZON_DAYS + 1)} <= days
    assert {monday.date() + timedelta(days=n) for n in range(3)} <= days
    assert (_day(worker, monday.date()).appointments, _day(worker, monday.date() + timedelta(days=1)).appointments) == (0, 1)
    assert _day(worker, monday.date() + timedelta(days=2)).working_minutes == 6 * 60


def test_a_reschedule_moves_capacity_from_the_old_day_and_worker_to_the_new_ones(customer):
    bob = pro("capmove")
    worker = worker_all_week(bob, start=time(9), end=time(17), buffer=30)
    helper = Worker.objects.create(owner=bob, name="Helper", time_zone="Europe/London", travel_buffer_minutes=0)
    worker_set_hours(worker=helper, actor=bob, hours=[(d, time(9), time(17)) for d in range(7)])
    monday = future_monday(10)
    mon, tue = monday.date(), monday.date() + timedelta(days=1)
    appointment = appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=monday, duration_minutes=120, actor=customer)
    _project(_events())
    assert (_day(worker, mon).free_minutes, _day(worker, mon).appointments) == (480 - 150, 1)

    mark = _last_outbox_id()
    appointment_reschedule(appointment=appointment, starts_at=monday + timedelta(days=1), actor=customer)
    assert _project(_events(mark)) == 1  # just appointment.rescheduled
    assert (_day(worker, mon).free_minutes, _day(worker, mon).appointments) == (480, 0)
    assert (_day(worker, tue).free_minutes, _day(worker, tue).appointments) == (480 - 150, 1)

    mark = _last_outbox_id()
    appointment_reschedule(appointment=appointment, starts_at=monday + timedelta(days=1), actor=customer, worker=helper)
    assert _project(_events(mark)) == 1
    assert (_day(worker, tue).free_minutes, _day(worker, tue).appointments) == (480, 0)
    assert (_day(helper, tue).free_minutes, _day(helper, tue).appointments) == (480 - 120, 1)  # the helper has no travel buffer

    mark = _last_outbox_id()
    appointment_cancel(appointment=Appointment.objects.get(pk=appointment.pk), actor=customer, reason="Sorted it myself")
    assert _project(_events(mark)) == 1
    assert (_day(helper, tue).free_minutes, _day(helper, tue).appointments) == (480, 0)


def test_an_inactive_worker_has_no_rows_and_does_not_count(customer):
    bob = pro("capinactive")
    worker = worker_all_week(bob, start=time(9), end=time(17), buffer=0)
    day = future_monday(10).date()
    refresh_worker_days(worker.pk, [day])
    assert WorkerDayCapacity.objects.filter(worker_id=worker.pk).count() == 1
    Worker.objects.filter(pk=worker.pk).update(active=False)
    refresh_worker_days(worker.pk, [day])
    assert not WorkerDayCapacity.objects.filter(worker_id=worker.pk).exists()
    assert list(TradeAreaCapacity.objects.filter(day=day).values_list("workers", "working_minutes", "free_minutes")) == [(0, 0, 0)]


def test_replay_rebuilds_the_same_read_model(customer):
    bob = pro("capreplay")
    worker = worker_all_week(bob, start=time(9), end=time(17), buffer=30)
    monday = future_monday(10)
    appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=monday, duration_minutes=60, actor=customer)
    _project(_events())
    incremental = (_rows(WorkerDayCapacity), _rows(TradeAreaCapacity))
    WorkerDayCapacity.objects.filter(worker_id=worker.pk).update(free_minutes=0)  # drift, to prove the rebuild rewrites it

    result = rebuild(capacity_consumer(), source="outbox")

    assert result.applied >= 3 and result.invalid == 0
    assert (_rows(WorkerDayCapacity), _rows(TradeAreaCapacity)) == incremental


# --- trade and area sums ------------------------------------------------------------------


def test_trade_area_capacity_sums_every_business_of_the_trade_in_the_same_grid_cell(customer):
    plumbing, electrical = trade(), trade("electrical", "Electrical")
    busy = pro("capbusy", trades=[plumbing, electrical], base_place="Islington")
    free = pro("capfree", at=(Decimal("51.55000"), Decimal("-0.15000")), base_place="Highbury")  # same 0.1-degree cell
    far = pro("capfar", at=CAMBRIDGE, base_place="Cambridge")
    busy_worker = worker_all_week(busy, start=time(9), end=time(17), buffer=0)
    worker_all_week(free, start=time(9), end=time(17), buffer=0)
    far_worker = worker_all_week(far, start=time(8), end=time(12), buffer=0)
    monday = future_monday(9)
    day = monday.date()
    appointment_book(job=awarded_job(customer, busy), worker=busy_worker, starts_at=monday, duration_minutes=8 * 60, actor=customer)
    _project(_events())
    refresh_worker_days(far_worker.pk, [day])  # Monday is past the hours horizon: only the booking projected it

    area = area_key(Decimal("51.53620"), Decimal("-0.10330"))
    assert area == "51.5,-0.2"
    islington = TradeAreaCapacity.objects.get(trade_slug="plumbing", area=area, day=day)
    # The free business's Monday has no row yet: it counts as its plain hours.
    assert not WorkerDayCapacity.objects.filter(owner_id=free.pk, day=day).exists()
    assert (islington.workers, islington.fully_booked_workers, islington.working_minutes, islington.free_minutes) == (2, 1, 960, 480)
    assert islington.area_label in {"Islington", "Highbury"}
    only_busy = TradeAreaCapacity.objects.get(trade_slug="electrical", area=area, day=day)
    assert (only_busy.workers, only_busy.fully_booked_workers, only_busy.free_minutes) == (1, 1, 0)
    cambridge = TradeAreaCapacity.objects.get(trade_slug="plumbing", area="52.2,0.1", day=day)
    assert (cambridge.area_label, cambridge.workers, cambridge.working_minutes) == ("Cambridge", 1, 240)


# --- reading ------------------------------------------------------------------------------


def test_has_capacity_reads_the_projected_rows_and_falls_back_to_plain_hours(customer):
    bob = pro("capread")
    worker = worker_all_week(bob, start=time(9), end=time(12), buffer=0)
    monday = future_monday(9)
    morning_end = monday + timedelta(hours=3)
    appointment_book(job=awarded_job(customer, bob), worker=worker, starts_at=monday, duration_minutes=150, actor=customer)

    # Not projected yet: plain hours, so the business still looks free (eventual consistency).
    assert not WorkerDayCapacity.objects.filter(worker_id=worker.pk, day=monday.date()).exists()
    assert pro_has_capacity(owner_id=bob.pk, window_start=monday, window_end=morning_end)

    refresh_worker_days(worker.pk, [monday.date()])
    assert not pro_has_capacity(owner_id=bob.pk, window_start=monday, window_end=morning_end)  # 30 minutes left
    assert pro_has_capacity(owner_id=bob.pk, minutes=30, window_start=monday, window_end=morning_end)
    assert pro_has_capacity(owner_id=bob.pk, window_start=monday + timedelta(days=1), window_end=monday + timedelta(days=1, hours=3))
    # A business with no active workers.
    nobody = pro("capnobody")
    Worker.objects.filter(owner=nobody).update(active=False)
    assert pro_has_capacity(owner_id=nobody.pk, window_start=monday, window_end=morning_end)


# --- concurrency --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_open_projection_does_not_hold_up_bookings_and_a_second_one_waits_for_it(customer):
    bob = pro("caplock")
    worker = worker_all_week(bob, start=time(9), end=time(17), buffer=0)
    monday = future_monday(10)
    day = monday.date()
    job = awarded_job(customer, bob)
    first_done, release, second_done = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first() -> None:  # a consumer batch that projected the day and has not committed yet
        try:
            with transaction.atomic():
                refresh_worker_days(worker.pk, [day])
                first_done.set()
                release.wait(20)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    def second() -> None:
        try:
            refresh_worker_days(worker.pk, [day])
            second_done.set()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first)]
    threads[0].start()
    try:
        assert first_done.wait(20)
        # Booking only needs a key-share lock on the worker: it goes through while the projection holds its lock.
        appointment_book(job=job, worker=worker, starts_at=monday, duration_minutes=60, actor=customer)
        threads.append(threading.Thread(target=second))
        threads[1].start()
        assert not second_done.wait(1)  # waits for the first projection's lock
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert not failures and second_done.is_set()
    row = WorkerDayCapacity.objects.get(worker_id=worker.pk, day=day)
    assert (row.appointments, row.free_minutes) == (1, 480 - 60)  # the later computation, with the booking, won
