"""The dispatch board (scheduling.dispatch): capacity per worker and day, flags, time zones, queries, JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from psycopg.types.range import Range

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from scheduling.dispatch import Board, Cell, board_json, dispatch_board, travel_minutes, week_start
from scheduling.models import Appointment, Worker
from scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    dependency_add,
    time_off_add,
    worker_set_hours,
)
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db

MONDAY = future_monday(0)  # 00:00 UTC on a winter Monday: London is on UTC


@pytest.fixture(autouse=True)
def _monday() -> None:
    # A winter Monday ahead of the date each test runs, not of the date the module was imported (TEST_CLOCK).
    global MONDAY
    MONDAY = future_monday(0)


LAT, LNG = Decimal("51.50000"), Decimal("-0.12000")
KM = Decimal("0.00899")  # about one kilometre of latitude


def at(hour: int, minute: int = 0, *, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
def bob() -> User:
    return pro("bobdispatch")


@pytest.fixture
def worker(bob: User) -> Worker:
    return worker_all_week(bob, start=time(8), end=time(18), buffer=30)


def book(customer: User, bob: User, worker: Worker, start: datetime, minutes: int, **job: object) -> Appointment:
    return appointment_book(job=awarded_job(customer, bob, **job), worker=worker, starts_at=start, duration_minutes=minutes, actor=customer)


def direct(job: Job, worker: Worker, start: datetime, minutes: int, buffer: int = 0) -> Appointment:
    """A booked row written without the services' checks (hours changed later, staff override, ...)."""
    end = start + timedelta(minutes=minutes)
    return Appointment.objects.create(
        job=job,
        worker=worker,
        starts_at=start,
        ends_at=end,
        travel_buffer_minutes=buffer,
        during=Range(start, end + timedelta(minutes=buffer), "[)"),
    )


def cell(board: Board, worker: Worker, day: int = 0) -> Cell:
    return board.cells[(worker.pk, MONDAY.date() + timedelta(days=day))]


def test_week_start_is_the_monday():
    assert week_start(date(2027, 3, 28)) == date(2027, 3, 22)
    assert week_start(date(2027, 3, 22)) == date(2027, 3, 22)


def test_travel_estimate_is_road_distance_at_urban_speed_rounded_up_to_five_minutes():
    assert travel_minutes(0) == 0
    assert travel_minutes(1) == 5  # 1.3 km at 30 km/h = 2.6 min
    assert travel_minutes(20) == 55  # 26 km = 52 min
    assert travel_minutes(50 / 13) == 10  # exactly 10 min stays 10


def test_remaining_capacity_counts_appointments_travel_and_time_off(customer, bob, worker):
    appointment_10 = book(customer, bob, worker, at(10), 90)  # 10:00-11:30 + 30 travel
    time_off_add(worker=worker, actor=bob, starts_at=at(14), ends_at=at(15), reason="dentist")
    book(customer, bob, worker, at(17, day=2), 60)  # Wednesday 17:00-18:00: its buffer is the trip home, after hours
    board = dispatch_board(owner=bob, start_day=MONDAY.date())

    assert board.days == [MONDAY.date() + timedelta(days=i) for i in range(7)]
    assert board.week_start == MONDAY.date() and board.time_zone == "Europe/London" and board.owner_id == bob.pk
    assert [w.pk for w in board.workers] == [worker.pk]
    monday = cell(board, worker)
    assert (monday.working_minutes, monday.booked_minutes, monday.free_minutes) == (600, 120, 420)
    assert [a.appointment_id for a in monday.appointments] == [appointment_10.pk]
    shown = monday.appointments[0]
    assert (shown.local_start, shown.local_end, shown.day) == ("10:00", "11:30", MONDAY.date())
    assert shown.starts_at == at(10) and shown.ends_at == at(11, 30) and shown.status == "booked"
    assert shown.customer_name == str(customer) and shown.job_title == "Leaky tap" and not shown.confirmed
    assert shown.flags == [] and not shown.has_conflict and monday.flags == []
    tuesday = cell(board, worker, 1)
    assert (tuesday.working_minutes, tuesday.booked_minutes, tuesday.free_minutes, tuesday.appointments) == (600, 0, 600, [])
    wednesday = cell(board, worker, 2)
    assert (wednesday.working_minutes, wednesday.booked_minutes, wednesday.free_minutes) == (600, 60, 540)
    assert wednesday.flags == [] and board.conflicts == 0


def test_cancelled_appointments_are_left_out(customer, bob, worker):
    appointment = book(customer, bob, worker, at(10), 60)
    appointment_cancel(appointment=appointment, actor=bob)
    monday = cell(dispatch_board(owner=bob, start_day=MONDAY.date(), days=1), worker)
    assert monday.appointments == [] and monday.booked_minutes == 0 and monday.free_minutes == 600


def test_booked_beyond_working_time_is_over_capacity(customer, bob):
    worker = worker_all_week(bob, start=time(9), end=time(12), buffer=0)
    book(customer, bob, worker, at(9), 180)
    late = direct(awarded_job(customer, bob, title="Evening callout"), worker, at(12), 120)
    board = dispatch_board(owner=bob, start_day=MONDAY.date(), days=1)
    monday = cell(board, worker)
    assert (monday.working_minutes, monday.booked_minutes, monday.free_minutes) == (180, 300, 0)
    evening = monday.appointments[1]
    assert evening.appointment_id == late.pk and evening.flags == ["Outside the worker's working hours."]
    assert monday.flags == [
        "12:00 Evening callout: Outside the worker's working hours.",
        "Over capacity: 300 min booked, 180 min of working time.",
    ]
    assert board.conflicts == 1


def test_an_appointment_in_time_off_added_later_is_flagged(customer, bob, worker):
    appointment = book(customer, bob, worker, at(10), 60)
    time_off_add(worker=worker, actor=bob, starts_at=at(9), ends_at=at(13), reason="van MOT")
    monday = cell(dispatch_board(owner=bob, start_day=MONDAY.date(), days=1), worker)
    assert monday.appointments[0].appointment_id == appointment.pk
    assert monday.appointments[0].flags == ["During the worker's time off (van MOT)."]
    # 600 working - 09:00-13:00 off (the appointment and its buffer lie inside it) = 360.
    assert (monday.booked_minutes, monday.free_minutes) == (90, 360)


def test_travel_flag_between_jobs_twenty_km_apart_but_not_one_km(customer, bob, worker):
    book(customer, bob, worker, at(10), 60, title="Boiler", place="Camden", latitude=LAT, longitude=LNG)
    far = book(customer, bob, worker, at(11, 30), 60, title="Far tap", latitude=LAT + 20 * KM, longitude=LNG)  # 30 min gap
    book(customer, bob, worker, at(10, day=1), 60, title="Near 1", place="Soho", latitude=LAT, longitude=LNG)
    near = book(customer, bob, worker, at(11, 30, day=1), 60, title="Near 2", latitude=LAT + KM, longitude=LNG)
    board = dispatch_board(owner=bob, start_day=MONDAY.date(), days=2)

    monday = cell(board, worker)
    shown = monday.appointments[1]
    assert shown.appointment_id == far.pk and shown.has_conflict
    assert shown.flags == ["Travel from Camden needs ~55 min; only 30 min between jobs."]
    assert monday.flags == ["11:30 Far tap: Travel from Camden needs ~55 min; only 30 min between jobs."]
    assert monday.appointments[0].flags == []
    tuesday = cell(board, worker, 1)
    assert tuesday.appointments[1].appointment_id == near.pk and tuesday.appointments[1].flags == [] and tuesday.flags == []
    assert board.conflicts == 1


def test_travel_flag_names_the_title_when_the_previous_job_has_no_place(customer, bob, worker):
    """A buffer shrunk after booking (or a staff override) leaves a tight gap; back to back at one place is fine."""
    first = direct(awarded_job(customer, bob, title="Fence", latitude=LAT, longitude=LNG), worker, at(10), 60)
    direct(awarded_job(customer, bob, title="Gate", latitude=LAT + 20 * KM, longitude=LNG), worker, at(11, 10), 60)
    direct(awarded_job(customer, bob, title="Shed", latitude=LAT + 20 * KM, longitude=LNG), worker, at(12, 10), 60)
    flags = [a.flags for a in cell(dispatch_board(owner=bob, start_day=MONDAY.date(), days=1), worker).appointments]
    assert first.job.place == ""
    assert flags == [[], ["Travel from Fence needs ~55 min; only 10 min between jobs."], []]


def test_dependency_conflict_sentence_is_shown(customer, bob, worker):
    wall = awarded_job(customer, bob, title="Build the wall")
    paint = awarded_job(customer, bob, title="Paint the wall")
    dependency_add(job=paint, depends_on=wall, actor=customer)
    wall_appointment = appointment_book(job=wall, worker=worker, starts_at=at(8), duration_minutes=120, actor=bob)
    paint_appointment = appointment_book(job=paint, worker=worker, starts_at=at(10, 30), duration_minutes=60, actor=customer)
    appointment_reschedule(appointment=wall_appointment, starts_at=at(12), actor=bob)  # the wall now ends 14:00
    paint_appointment.refresh_from_db()
    assert paint_appointment.conflict_reason

    board = dispatch_board(owner=bob, start_day=MONDAY.date(), days=1)
    monday = cell(board, worker)
    shown = monday.appointments[0]
    assert shown.appointment_id == paint_appointment.pk and shown.flags == [paint_appointment.conflict_reason] and shown.has_conflict
    assert "Build the wall" in shown.flags[0]
    assert monday.flags == [f"10:30 Paint the wall: {paint_appointment.conflict_reason}"]
    assert monday.appointments[1].flags == [] and board.conflicts == 1


def test_dst_days_follow_the_clock(customer, bob):
    assert bob.time_zone == "Europe/London"
    worker = worker_all_week(bob, buffer=0)
    # Sundays 00:30-03:30 (spans the change) and 08:00-18:00; Mondays 00:00-02:00 and 08:00-18:00.
    hours = [(6, time(0, 30), time(3, 30)), (6, time(8), time(18)), (0, time(0), time(2)), (0, time(8), time(18))]
    worker_set_hours(worker=worker, actor=bob, hours=hours)
    spring = dispatch_board(owner=bob, start_day=date(2027, 3, 22), days=8)
    # 2027-03-28 is 23 hours long in London: 00:30-03:30 is two real hours, and Monday's 00:00 BST
    # (23:00 UTC on Sunday) belongs to Monday.
    assert [spring.cells[(worker.pk, day)].working_minutes for day in spring.days] == [720, 0, 0, 0, 0, 0, 120 + 600, 720]
    autumn = dispatch_board(owner=bob, start_day=date(2027, 10, 25), days=8)
    # 2027-10-31 is 25 hours long: 00:30-03:30 is four real hours.
    assert [autumn.cells[(worker.pk, day)].working_minutes for day in autumn.days] == [720, 0, 0, 0, 0, 0, 240 + 600, 720]

    # A job after the change is shown in summer time, stored in UTC.
    direct(awarded_job(customer, bob), worker, datetime(2027, 3, 28, 8, tzinfo=UTC), 60)
    sunday = dispatch_board(owner=bob, start_day=date(2027, 3, 28), days=1).cells[(worker.pk, date(2027, 3, 28))]
    shown = sunday.appointments[0]
    assert (shown.local_start, shown.local_end, shown.day) == ("09:00", "10:00", date(2027, 3, 28))
    assert shown.customer_name == str(customer)
    assert (sunday.booked_minutes, sunday.free_minutes) == (60, 660)


def test_days_are_the_owners_and_hours_the_workers(customer, bob):
    """A worker in New York working Monday 16:00-22:00 there (21:00-03:00 UTC) spans two London days."""
    worker = Worker.objects.create(owner=bob, name="Nia", time_zone="America/New_York", travel_buffer_minutes=0)
    worker_set_hours(worker=worker, actor=bob, hours=[(0, time(16), time(22))])
    board = dispatch_board(owner=bob, start_day=MONDAY.date(), days=3)
    assert [cell(board, worker, d).working_minutes for d in range(3)] == [180, 180, 0]
    direct(awarded_job(customer, bob), worker, at(23), 120)  # 18:00-20:00 in New York, 23:00-01:00 in London
    board = dispatch_board(owner=bob, start_day=MONDAY.date(), days=2)
    monday, tuesday = cell(board, worker), cell(board, worker, 1)
    shown = monday.appointments[0]
    assert (shown.local_start, shown.local_end, shown.day) == ("23:00", "01:00", MONDAY.date()) and shown.flags == []
    assert (monday.booked_minutes, monday.free_minutes, tuesday.booked_minutes, tuesday.free_minutes) == (60, 120, 60, 120)
    assert tuesday.appointments == []


def test_only_the_owners_workers_appear(customer, other_customer, bob, worker):
    carol = pro("caroldispatch")
    carols = worker_all_week(carol)
    book(customer, bob, worker, at(10), 60)
    theirs = book(other_customer, carol, carols, at(10), 60)
    ann = Worker.objects.create(owner=bob, name="Ann")
    retired = Worker.objects.create(owner=bob, name="Ret", active=False)
    idle = Worker.objects.create(owner=bob, name="Idle", active=False)
    direct(awarded_job(customer, bob), retired, at(12), 30)

    board = dispatch_board(owner=bob, start_day=MONDAY.date())
    assert [w.pk for w in board.workers] == [worker.pk, ann.pk, retired.pk]  # an inactive worker shows while booked
    assert idle.pk not in {w for w, _ in board.cells}
    ids = {a.appointment_id for c in board.cells.values() for a in c.appointments}
    assert theirs.pk not in ids and len(ids) == 2
    assert cell(board, ann).working_minutes == 0 and cell(board, ann).free_minutes == 0

    only = dispatch_board(owner=bob, start_day=MONDAY.date(), worker_id=ann.pk)
    assert [w.pk for w in only.workers] == [ann.pk] and all(not c.appointments for c in only.cells.values())
    with pytest.raises(ServiceError) as refused:
        dispatch_board(owner=bob, start_day=MONDAY.date(), worker_id=carols.pk)
    assert status_for(refused.value) == 404
    with pytest.raises(ServiceError):
        dispatch_board(owner=bob, start_day=MONDAY.date(), days=0)


def test_queries_do_not_grow_with_the_board(customer, bob, worker, django_assert_max_num_queries):
    ann = worker_all_week_for(bob, "Ann")
    for day in range(5):
        book(customer, bob, worker, at(9, day=day), 60, place=f"Site {day}")
        book(customer, bob, ann, at(9, day=day), 60)
        time_off_add(worker=ann, actor=bob, starts_at=at(15, day=day), ends_at=at(16, day=day))
    with django_assert_max_num_queries(4):
        board = dispatch_board(owner=bob, start_day=MONDAY.date())
        payload = board_json(board)
    assert sum(len(c["appointments"]) for c in payload["cells"]) == 10


def worker_all_week_for(owner: User, name: str) -> Worker:
    worker = Worker.objects.create(owner=owner, name=name, travel_buffer_minutes=30)
    worker_set_hours(worker=worker, actor=owner, hours=[(d, time(8), time(18)) for d in range(7)])
    return worker


def test_board_json_round_trips(customer, bob, worker):
    appointment = book(customer, bob, worker, at(10), 90, place="Camden")
    book(customer, bob, worker, at(12), 60, latitude=LAT + 20 * KM, longitude=LNG)
    board = dispatch_board(owner=bob, start_day=MONDAY.date(), days=2)
    payload = json.loads(json.dumps(board_json(board)))
    assert payload["week_start"] == MONDAY.date().isoformat() and payload["time_zone"] == "Europe/London"
    assert payload["days"] == [MONDAY.date().isoformat(), (MONDAY.date() + timedelta(days=1)).isoformat()]
    assert payload["workers"] == [{"id": worker.pk, "name": worker.name}]
    assert payload["conflicts"] == 1
    assert [(c["worker_id"], c["day"]) for c in payload["cells"]] == [(worker.pk, d) for d in payload["days"]]
    monday = payload["cells"][0]
    assert (monday["working_minutes"], monday["booked_minutes"], monday["free_minutes"]) == (600, 210, 390)
    first = monday["appointments"][0]
    assert first == {
        "appointment_id": appointment.pk,
        "job_id": appointment.job_id,
        "job_title": "Leaky tap",
        "place": "Camden",
        "customer_name": str(customer),
        "worker_id": worker.pk,
        "starts_at": at(10).isoformat().replace("+00:00", "Z"),
        "ends_at": at(11, 30).isoformat().replace("+00:00", "Z"),
        "local_start": "10:00",
        "local_end": "11:30",
        "day": MONDAY.date().isoformat(),
        "status": "booked",
        "confirmed": False,
        "confirmed_by_sms": False,
        "reschedule_requested": False,
        "flags": [],
        "has_conflict": False,
    }
    assert datetime.fromisoformat(first["starts_at"]) == appointment.starts_at
    assert monday["appointments"][1]["has_conflict"] and monday["flags"][0].startswith("12:00 Leaky tap: Travel from Camden")
