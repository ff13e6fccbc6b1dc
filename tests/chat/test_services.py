"""chat.services: who may write where, the limits, masking, idempotency, read receipts; refusals write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.models import Message, Thread
from jobs import services as job_services
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from marketplace.masking import HIDDEN

from .helpers import Quoted, award_to_x, quoted_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> Quoted:
    return quoted_job()


def thread_with(world: Quoted, pro: Any) -> Thread:
    return next(t for t in services.chat_threads_open(job=world.job, viewer=world.customer) if t.tradesperson_id == pro.pk)


def chat_events(kind: str = "chat.message_sent") -> list[dict[str, Any]]:
    return [row.envelope["data"] for row in OutboxEvent.objects.filter(event_type=kind).order_by("id")]


def snapshot() -> tuple[int, int, int]:
    return Message.objects.count(), OutboxEvent.objects.filter(event_type__startswith="chat.").count(), Thread.objects.count()


def refused(code: str, status: int, fn: Any, **kwargs: Any) -> None:
    before = snapshot()
    with pytest.raises(ServiceError) as info:
        fn(**kwargs)
    assert (info.value.code, status_for(info.value)) == (code, status)
    assert snapshot() == before, "a refused request wrote something"


def test_the_customer_has_one_thread_per_quoting_tradesperson_and_each_tradesperson_their_own(world: Quoted) -> None:
    threads = services.chat_threads_open(job=world.job, viewer=world.customer)
    assert [t.tradesperson_id for t in threads] == [world.x.pk, world.z.pk]
    assert services.chat_threads_open(job=world.job, viewer=world.x) == [threads[0]]
    assert services.chat_threads_open(job=world.job, viewer=world.customer) == threads  # idempotent
    assert Thread.objects.count() == 2


def test_a_tradesperson_without_a_quote_has_no_chat(world: Quoted) -> None:
    refused("not_a_participant", 403, services.chat_threads_open, job=world.job, viewer=world.y)


def test_a_message_is_stored_masked_with_its_event_in_the_same_transaction(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    message, created = services.chat_send(thread=thread, sender=world.x, text="  Hi! Call 07700 900123 or mail x@example.com  ")
    assert created and message.masked
    assert message.text == f"Hi! Call {HIDDEN} or mail {HIDDEN}"
    [event] = chat_events()
    assert event["text"] == message.text and event["masked"] is True
    assert (event["sender_id"], event["recipient_id"], event["thread_id"], event["job_id"]) == (
        world.x.pk,
        world.customer.pk,
        thread.pk,
        world.job.pk,
    )
    assert event["sender_name"] == "X Plumbing"
    assert "07700" not in str(OutboxEvent.objects.get(event_type="chat.message_sent").envelope)


def test_empty_and_too_long_messages_are_refused(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    refused("empty_message", 400, services.chat_send, thread=thread, sender=world.x, text=" \n\t ")
    refused("empty_message", 400, services.chat_send, thread=thread, sender=world.x, text="\x00\x07")
    refused("message_too_long", 400, services.chat_send, thread=thread, sender=world.x, text="a" * (services.MAX_TEXT + 1))
    message, _ = services.chat_send(thread=thread, sender=world.x, text="a" * services.MAX_TEXT)
    assert len(message.text) == services.MAX_TEXT


def test_nobody_else_writes_in_a_thread(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    for outsider in (world.z, world.y):
        refused("forbidden", 403, services.chat_send, thread=thread, sender=outsider, text="hello")
        refused("forbidden", 403, services.chat_mark_read, thread=thread, reader=outsider, up_to_message_id=1)


def test_after_the_award_only_the_winners_thread_is_writable(world: Quoted) -> None:
    thread_x, thread_z = thread_with(world, world.x), thread_with(world, world.z)
    services.chat_send(thread=thread_z, sender=world.z, text="Before the award")
    award_to_x(world)
    refused("chat_closed", 409, services.chat_send, thread=thread_z, sender=world.customer, text="Too late")
    refused("chat_closed", 409, services.chat_send, thread=thread_z, sender=world.z, text="Too late")
    services.chat_send(thread=thread_x, sender=world.customer, text="See you Monday")
    assert services.chat_threads_open(job=world.job, viewer=world.customer)[0] == thread_x  # the winner first
    # The losing thread stays readable, with its history.
    assert list(Message.objects.filter(thread=thread_z).values_list("text", flat=True)) == ["Before the award"]


def test_a_cancelled_job_closes_every_thread(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    job_services.job_cancel(job=world.job, actor=world.customer, reason="fixed it")
    refused("chat_closed", 409, services.chat_send, thread=thread, sender=world.x, text="hello?")


def test_the_same_idempotency_key_stores_one_message(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    first, created = services.chat_send(thread=thread, sender=world.customer, text="Hello", client_key="k1")
    again, created_again = services.chat_send(thread=thread, sender=world.customer, text="Hello", client_key="k1")
    assert created and not created_again and again.pk == first.pk
    assert Message.objects.count() == 1 and len(chat_events()) == 1
    services.chat_send(thread=thread, sender=world.customer, text="Hello", client_key="k2")
    assert Message.objects.count() == 2


def test_more_than_the_rate_limit_a_minute_is_429(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    for n in range(services.RATE_LIMIT):
        services.chat_send(thread=thread, sender=world.x, text=f"message {n}")
    refused("rate_limited", 429, services.chat_send, thread=thread, sender=world.x, text="one too many")
    services.chat_send(thread=thread, sender=world.customer, text="the other side is not limited")


def test_read_receipts_move_forward_only_and_emit_once(world: Quoted) -> None:
    thread = thread_with(world, world.x)
    first, _ = services.chat_send(thread=thread, sender=world.x, text="one")
    second, _ = services.chat_send(thread=thread, sender=world.x, text="two")
    mine, _ = services.chat_send(thread=thread, sender=world.customer, text="mine")
    # Reading past the other side's newest message stops at it (own messages are not "read").
    thread = services.chat_mark_read(thread=thread, reader=world.customer, up_to_message_id=mine.pk)
    assert thread.customer_read_up_to == second.pk
    services.chat_mark_read(thread=thread, reader=world.customer, up_to_message_id=first.pk)  # backwards: nothing
    services.chat_mark_read(thread=thread, reader=world.customer, up_to_message_id=second.pk)  # again: nothing
    assert [e["up_to"] for e in chat_events("chat.read")] == [second.pk]
    assert chat_events("chat.read")[0]["reader_id"] == world.customer.pk
    thread.refresh_from_db()
    assert thread.customer_read_up_to == second.pk and thread.tradesperson_read_up_to == 0
