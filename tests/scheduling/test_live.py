"""Appointment changes reach people live through Kafka (consumer ``schedule-live``): the business's
calendar stream, the customer's job page, and notifications to the other side — exactly once."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from marketplace.accounts.models import User
from marketplace.asgi import application
from marketplace.events.models import ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.notifications.models import Notification
from marketplace.realtime.models import LivePosition
from marketplace.realtime.streams import can_subscribe
from scheduling.models import Worker
from scheduling.services import (
    appointment_book,
    appointment_confirm,
    appointment_reassign,
    appointment_reschedule,
    proposal_create,
    reminders_send,
    worker_set_hours,
)
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db(transaction=True)


def test_who_may_watch_a_calendar(customer) -> None:
    bob, other = pro("bobcal"), pro("evecal")
    eve = User.objects.create_user("eve_helper", "eve@example.com", "pw-123456-x", role=User.Role.TEAM)
    helper = Worker.objects.create(owner=bob, user=eve, name="Eve", role=Worker.Role.DISPATCHER)
    tom = User.objects.create_user("tom_helper", "tom@example.com", "pw-123456-x", role=User.Role.TEAM)
    Worker.objects.create(owner=bob, user=tom, name="Tom", role=Worker.Role.TECHNICIAN)
    assert can_subscribe(bob, f"calendar.{bob.pk}")
    assert can_subscribe(eve, f"calendar.{bob.pk}")  # a dispatcher of the business
    assert not can_subscribe(tom, f"calendar.{bob.pk}")  # a technician sees their own day only
    assert not can_subscribe(customer, f"calendar.{bob.pk}")
    assert not can_subscribe(bob, f"calendar.{other.pk}") and not can_subscribe(other, f"calendar.{bob.pk}")
    helper.active = False
    helper.save()
    assert not can_subscribe(eve, f"calendar.{bob.pk}")


def test_a_booking_reaches_the_business_calendar_live(broker, customer) -> None:
    bob = pro("boblive")
    worker = worker_all_week(bob)
    job = awarded_job(customer, bob)
    start = future_monday(10)

    def act() -> None:
        appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=90, actor=customer)
        relay_all()
        run_consumer_until(lambda: LivePosition.objects.filter(stream=f"calendar.{bob.pk}").exists(), get_consumer("schedule-live"))
        connection.close()

    async def scenario() -> dict:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = bob
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"calendar.{bob.pk}"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(act, thread_sensitive=False)()
        while True:  # bob's own user stream also hears about it (and gets a notification)
            message = await ws.receive_json_from(timeout=5)
            if message["stream"] == f"calendar.{bob.pk}":
                break
        await ws.disconnect()
        return dict(message)

    message = async_to_sync(scenario)()
    assert message["event"] == "appointment.booked" and message["source"] == "schedule-live"
    assert message["data"]["job_id"] == job.pk and message["data"]["by"] == "customer"
    assert message["data"]["starts_at"].startswith(start.strftime("%Y-%m-%dT%H:%M"))


def test_each_side_is_told_once_even_when_events_are_redelivered(broker, customer) -> None:
    bob = pro("bobtold")
    worker = worker_all_week(bob)
    job = awarded_job(customer, bob)
    start = future_monday(10)
    proposal_create(job=job, worker=worker, starts=[start, start + timedelta(hours=3)], duration_minutes=60, actor=bob)
    appointment = appointment_book(job=job, worker=worker, starts_at=start, duration_minutes=60, actor=customer)
    appointment_confirm(appointment=appointment, actor=customer)
    appointment = appointment_reschedule(appointment=appointment, starts_at=start + timedelta(days=1), actor=bob)
    assert reminders_send(now=start + timedelta(days=1) - timedelta(hours=23)) == 1
    relay_all()
    spec = get_consumer("schedule-live")

    def kinds(user) -> list[str]:
        return sorted(Notification.objects.filter(recipient=user, kind__startswith="appointment_").values_list("kind", flat=True))

    expected_customer = ["appointment_proposed", "appointment_reminder", "appointment_rescheduled"]
    expected_bob = ["appointment_booked", "appointment_confirmed", "appointment_reminder"]
    run_consumer_until(lambda: kinds(customer) == expected_customer and kinds(bob) == expected_bob, spec)
    reminder = Notification.objects.get(recipient=customer, kind="appointment_reminder")
    assert "Please confirm" in reminder.body and reminder.url == f"/jobs/{job.pk}/#appointment"
    moved = Notification.objects.get(recipient=customer, kind="appointment_rescheduled")
    assert "Europe/London" in moved.body and "was" in moved.body

    # A consumer that lost its inbox (or a second consumer group) sees every event again: nobody is told twice.
    seen = ProcessedEvent.objects.filter(consumer="schedule-live").count()
    ProcessedEvent.objects.filter(consumer="schedule-live").delete()
    run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="schedule-live").count() >= seen, spec, group="schedule-live-replay")
    assert kinds(customer) == expected_customer and kinds(bob) == expected_bob


def test_a_dispatcher_move_reaches_every_open_board_and_tells_the_customer(broker, customer) -> None:
    bob = pro("bobmove")
    ann = worker_all_week(bob)
    sam_login = User.objects.create_user("sam_move", password="pw-123456-x", role=User.Role.TEAM)
    sam = Worker.objects.create(owner=bob, user=sam_login, name="Sam", time_zone="Europe/London", role=Worker.Role.DISPATCHER)
    worker_set_hours(worker=sam, actor=bob, hours=[(d, time(8), time(18)) for d in range(7)])
    start = future_monday(10)
    appointment = appointment_book(job=awarded_job(customer, bob), worker=ann, starts_at=start, duration_minutes=60, actor=customer)
    relay_all()
    run_consumer_until(
        lambda: Notification.objects.filter(recipient=bob, kind="appointment_booked").exists(), get_consumer("schedule-live")
    )

    def act() -> None:
        appointment_reassign(by=bob, appointment=appointment, worker=sam, start=start + timedelta(days=1))
        relay_all()
        run_consumer_until(
            lambda: Notification.objects.filter(recipient=customer, kind="appointment_rescheduled").exists(), get_consumer("schedule-live")
        )
        connection.close()

    async def board(user: User) -> WebsocketCommunicator:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = user
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"calendar.{bob.pk}"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        return ws

    async def heard(ws: WebsocketCommunicator) -> dict:
        while True:
            message = await ws.receive_json_from(timeout=5)
            if message["stream"] == f"calendar.{bob.pk}" and message["event"] == "appointment.rescheduled":
                await ws.disconnect()
                return dict(message)

    async def scenario() -> list[dict]:
        boards = [await board(bob), await board(sam_login)]  # the dispatcher's board and a second one open elsewhere
        await sync_to_async(act, thread_sensitive=False)()
        return [await heard(ws) for ws in boards]

    for message in async_to_sync(scenario)():
        assert message["data"]["worker_id"] == sam.pk and message["data"]["previous_worker_id"] == ann.pk
    moved = Notification.objects.get(recipient=customer, kind="appointment_rescheduled")
    assert "was" in moved.body  # the customer hears of the new time, as after any reschedule
