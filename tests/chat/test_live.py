"""Chat through the real pipeline (outbox -> relay -> broker -> consumer ``chat-live`` -> Redis -> websocket):
a message and a read receipt reach the thread's stream; the recipient is notified once, even on redelivery;
nobody outside the thread may subscribe to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from chat import services
from marketplace.asgi import application
from marketplace.events.models import ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.notifications.models import Notification
from marketplace.realtime.models import LivePosition
from marketplace.realtime.streams import can_subscribe
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import make_user, pro

from .helpers import booked_technician, quoted_job

pytestmark = pytest.mark.django_db(transaction=True)


def frames_while(
    user: Any, stream: str, act: Callable[[], None], *, enough: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """``user``'s socket subscribes to ``stream``, then ``act`` runs (in a thread: it drives the pipeline); the frames
    the socket receives, until ``enough`` of them."""

    async def scenario() -> list[dict[str, Any]]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = user
        assert (await ws.connect())[0]
        await ws.receive_json_from()  # subscribed to user.<id>
        await ws.send_json_to({"action": "subscribe", "stream": stream})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(act, thread_sensitive=False)()
        got: list[dict[str, Any]] = []
        while not enough(got):
            got.append(await ws.receive_json_from(timeout=5))
        await ws.disconnect()
        return got

    return async_to_sync(scenario)()


def test_only_the_two_participants_may_watch_a_thread() -> None:
    world = quoted_job()
    thread_x, thread_z = services.chat_threads_open(job=world.job, viewer=world.customer)
    staff = make_user("chat_staff", is_staff=True)
    assert can_subscribe(world.customer, f"chat.{thread_x.pk}") and can_subscribe(world.x, f"chat.{thread_x.pk}")
    assert not can_subscribe(world.z, f"chat.{thread_x.pk}") and can_subscribe(world.z, f"chat.{thread_z.pk}")
    assert not can_subscribe(world.y, f"chat.{thread_x.pk}")
    assert not can_subscribe(staff, f"chat.{thread_x.pk}")
    assert not can_subscribe(world.customer, "chat.999999") and not can_subscribe(world.customer, "chat.abc")


def test_a_message_and_its_receipt_reach_the_thread_live_and_the_recipient_is_notified_once(broker: Any) -> None:
    world = quoted_job()
    thread = services.chat_threads_open(job=world.job, viewer=world.x)[0]
    stream = f"chat.{thread.pk}"
    spec = get_consumer("chat-live")

    def act() -> None:
        message, _ = services.chat_send(thread=thread, sender=world.x, text="Can I come Monday? Ring 07700 900123")
        relay_all()
        run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="chat-live").count() >= 1, spec)
        services.chat_mark_read(thread=thread, reader=world.customer, up_to_message_id=message.pk)
        relay_all()
        run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="chat-live").count() >= 2, spec)
        connection.close()

    bell = f"user.{world.customer.pk}"
    messages = frames_while(
        world.customer,
        stream,
        act,
        enough=lambda got: len([m for m in got if m.get("stream") == stream]) >= 2 and any(m.get("stream") == bell for m in got),
    )
    on_thread = [m for m in messages if m["stream"] == stream]
    sent, read = on_thread
    assert (sent["event"], sent["source"]) == ("chat.message_sent", "chat-live")
    assert sent["data"]["text"] == "Can I come Monday? Ring [contact details hidden]"
    assert sent["data"]["sender_id"] == world.x.pk and sent["data"]["thread_id"] == thread.pk
    assert read["event"] == "chat.read" and read["data"]["up_to"] == sent["data"]["message_id"]
    assert read["prev_seq"] == sent["seq"]  # the browser can tell it missed nothing
    # The recipient's bell heard about it too (user.<id> stream), once.
    bells = [m for m in messages if m["stream"] == f"user.{world.customer.pk}" and m["event"] == "notification.created"]
    assert len(bells) == 1 and bells[0]["data"]["kind"] == "chat_message"

    notification = Notification.objects.get(recipient=world.customer, kind="chat_message")
    assert notification.title == "X Plumbing about “Leaky tap”"
    assert notification.body == "Can I come Monday? Ring [contact details hidden]"
    assert notification.url == f"/jobs/{world.job.pk}/#chat"
    assert not Notification.objects.filter(recipient=world.x, kind="chat_message").exists()  # the sender is not told

    assert LivePosition.objects.filter(stream=stream, source="chat-live").count() == 1


def test_one_notification_per_unread_burst_and_none_twice_on_redelivery(broker: Any) -> None:
    world = quoted_job()
    thread = services.chat_threads_open(job=world.job, viewer=world.x)[0]
    spec = get_consumer("chat-live")

    def processed() -> int:
        return ProcessedEvent.objects.filter(consumer="chat-live").count()

    def told() -> list[str]:
        rows = Notification.objects.filter(recipient=world.customer, kind="chat_message").order_by("pk")
        return list(rows.values_list("body", flat=True))

    # Three quick messages the customer has not read: one notification (the first message's text).
    for text in ("Hello", "Are you there?", "I can do Monday"):
        services.chat_send(thread=thread, sender=world.x, text=text)
    relay_all()
    run_consumer_until(lambda: processed() >= 3, spec)
    assert told() == ["Hello"]

    # Redelivery (a consumer that lost its inbox, or a replay by another group): nobody is told twice.
    ProcessedEvent.objects.filter(consumer="chat-live").delete()
    run_consumer_until(lambda: processed() >= 3, spec, group="chat-live-replay")
    assert told() == ["Hello"]

    # Once the customer has read them, the next message is news again.
    last = thread.messages.order_by("pk").last()
    assert last is not None
    services.chat_mark_read(thread=thread, reader=world.customer, up_to_message_id=last.pk)
    services.chat_send(thread=thread, sender=world.x, text="Monday 9am then?")
    relay_all()
    run_consumer_until(lambda: processed() >= 5, spec)
    assert told() == ["Hello", "Monday 9am then?"]
    # A late redelivery of a message already read tells nobody either.
    ProcessedEvent.objects.filter(consumer="chat-live").delete()
    run_consumer_until(lambda: processed() >= 5, spec, group="chat-live-replay-2")
    assert told() == ["Hello", "Monday 9am then?"]
    assert not Notification.objects.filter(recipient=world.x, kind="chat_message").exists()


def test_a_foreign_socket_cannot_join_a_thread(broker: Any) -> None:
    world = quoted_job()
    thread = services.chat_threads_open(job=world.job, viewer=world.x)[0]

    async def scenario() -> dict[str, Any]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = world.z
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"chat.{thread.pk}"})
        answer = await ws.receive_json_from()
        await ws.disconnect()
        return dict(answer)

    answer = async_to_sync(scenario)()
    assert answer["type"] == "error" and answer["code"] == "forbidden"


def test_the_booked_technician_hears_the_customer_live_and_the_customer_is_told_of_their_reply(broker: Any) -> None:
    customer = make_user("techlive_cust")
    appointment, _, tech = booked_technician(customer, pro("techlive_owner", business_name="Tap Masters"))
    thread = services.chat_threads_open(job=appointment.job, viewer=customer)[0]
    stream = f"chat.{thread.pk}"
    spec = get_consumer("chat-live")

    def act() -> None:
        services.chat_send(thread=thread, sender=customer, text="The gate code is on the job")
        services.chat_send(thread=thread, sender=tech, text="Thanks, see you at ten")
        relay_all()
        run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="chat-live").count() >= 2, spec)
        connection.close()

    frames = frames_while(tech, stream, act, enough=lambda got: len([m for m in got if m.get("stream") == stream]) >= 2)
    pushed = [m["data"] for m in frames if m["stream"] == stream]
    assert [(d["sender_id"], d["text"], d["sender_name"]) for d in pushed] == [
        (customer.pk, "The gate code is on the job", pushed[0]["sender_name"]),
        (tech.pk, "Thanks, see you at ten", "Tina (Tap Masters)"),
    ]
    assert pushed[1]["recipient_id"] == customer.pk
    told = Notification.objects.get(recipient=customer, kind="chat_message")
    assert told.title == "Tina (Tap Masters) about “Leaky tap”"
