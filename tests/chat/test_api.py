"""The chat API: shapes, who sees what (404 / 403), limits and their error codes, idempotent sends, receipts."""

from __future__ import annotations

from typing import Any

import pytest

from chat import services
from chat.models import Message
from tests.factories import make_user
from tests.helpers import client_for, error_code

from .helpers import Quoted, award_to_x, quoted_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> Quoted:
    return quoted_job()


def threads(user: Any, world: Quoted) -> Any:
    return client_for(user).get(f"/api/jobs/{world.job.pk}/chat/")


def test_the_customer_sees_a_thread_per_quoting_tradesperson(world: Quoted) -> None:
    response = threads(world.customer, world)
    assert response.status_code == 200
    body = response.json()
    assert body["job"] == world.job.pk
    assert [(t["other"]["id"], t["other"]["name"], t["other"]["role"]) for t in body["threads"]] == [
        (world.x.pk, "X Plumbing", "tradesperson"),
        (world.z.pk, "Chat_Z Ltd", "tradesperson"),
    ]
    first = body["threads"][0]
    assert first["writable"] and first["closed_reason"] == "" and first["unread"] == 0 and first["last_message"] is None
    assert first["stream"] == f"chat.{first['id']}"
    [mine] = threads(world.x, world).json()["threads"]
    assert mine["id"] == first["id"] and mine["other"] == {"id": world.customer.pk, "name": "chat_cust", "role": "customer"}


def test_who_gets_what(world: Quoted) -> None:
    stranger, staff = make_user("chat_stranger"), make_user("chat_staff", is_staff=True)
    assert threads(stranger, world).status_code == 404  # cannot see the job
    assert error_code(threads(world.y, world)) == "not_a_participant"  # offered the lead, no quote: 403
    assert threads(world.y, world).status_code == 403
    assert threads(staff, world).status_code == 403
    assert threads(None, world).status_code == 403
    thread_x = threads(world.customer, world).json()["threads"][0]["id"]
    for outsider in (world.z, world.y, stranger, staff):
        client = client_for(outsider)
        assert client.get(f"/api/chat/{thread_x}/messages/").status_code == 404
        assert client.post(f"/api/chat/{thread_x}/messages/", {"text": "hi"}, format="json").status_code == 404
        assert client.post(f"/api/chat/{thread_x}/read/", {"up_to": 1}, format="json").status_code == 404
    assert Message.objects.count() == 0


def test_sending_reading_and_the_receipt(world: Quoted) -> None:
    thread = threads(world.customer, world).json()["threads"][0]["id"]
    x, customer = client_for(world.x), client_for(world.customer)
    sent = x.post(f"/api/chat/{thread}/messages/", {"text": "<b>Hi</b> mail me: x@example.com"}, format="json")
    assert sent.status_code == 201
    message = sent.json()
    assert message["text"] == "<b>Hi</b> mail me: [contact details hidden]"  # stored as text; the page inserts it as text
    assert message["mine"] and message["masked"] and message["sender_name"] == "X Plumbing"

    listed = customer.get(f"/api/chat/{thread}/messages/").json()
    assert [m["id"] for m in listed["messages"]] == [message["id"]] and not listed["messages"][0]["mine"]
    assert listed["thread"]["unread"] == 1
    assert customer.get(f"/api/chat/{thread}/messages/?after={message['id']}").json()["messages"] == []
    assert customer.get(f"/api/chat/{thread}/messages/?after=x").status_code == 400

    read = customer.post(f"/api/chat/{thread}/read/", {"up_to": message["id"]}, format="json")
    assert read.status_code == 200 and read.json() == {"thread": thread, "read_up_to": message["id"]}
    assert customer.get(f"/api/chat/{thread}/messages/").json()["thread"]["unread"] == 0
    assert x.get(f"/api/chat/{thread}/messages/").json()["thread"]["seen_up_to"] == message["id"]  # "Seen"
    assert customer.post(f"/api/chat/{thread}/read/", {"up_to": -1}, format="json").status_code == 400


def test_limits_have_clear_errors_and_write_nothing(world: Quoted) -> None:
    thread = threads(world.customer, world).json()["threads"][0]["id"]
    client = client_for(world.customer)
    empty = client.post(f"/api/chat/{thread}/messages/", {"text": "   "}, format="json")
    assert (empty.status_code, error_code(empty)) == (400, "empty_message")
    long = client.post(f"/api/chat/{thread}/messages/", {"text": "x" * 2001}, format="json")
    assert (long.status_code, error_code(long)) == (400, "message_too_long")
    assert "at most 2000 characters" in long.json()["error"]["message"]
    missing = client.post(f"/api/chat/{thread}/messages/", {}, format="json")
    assert (missing.status_code, error_code(missing)) == (400, "validation_error")
    assert Message.objects.count() == 0


def test_a_double_click_stores_one_message(world: Quoted) -> None:
    thread = threads(world.customer, world).json()["threads"][0]["id"]
    client = client_for(world.customer)
    first = client.post(f"/api/chat/{thread}/messages/", {"text": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    second = client.post(f"/api/chat/{thread}/messages/", {"text": "Hello"}, format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    assert (first.status_code, second.status_code) == (201, 200) and first.json()["id"] == second.json()["id"]
    assert Message.objects.count() == 1


def test_flooding_is_429(world: Quoted) -> None:
    thread = threads(world.customer, world).json()["threads"][0]["id"]
    client = client_for(world.customer)
    for n in range(services.RATE_LIMIT):
        assert client.post(f"/api/chat/{thread}/messages/", {"text": f"m{n}"}, format="json").status_code == 201
    flood = client.post(f"/api/chat/{thread}/messages/", {"text": "more"}, format="json")
    assert (flood.status_code, error_code(flood)) == (429, "rate_limited")
    assert Message.objects.count() == services.RATE_LIMIT


def test_after_the_award_the_losers_thread_is_read_only(world: Quoted) -> None:
    award_to_x(world)
    body = threads(world.customer, world).json()["threads"]
    assert [(t["other"]["id"], t["writable"]) for t in body] == [(world.x.pk, True), (world.z.pk, False)]
    assert body[1]["closed_reason"] == "The customer chose another tradesperson for this job, so this chat is read-only."
    closed = client_for(world.z).post(f"/api/chat/{body[1]['id']}/messages/", {"text": "Still free?"}, format="json")
    assert (closed.status_code, error_code(closed)) == (409, "chat_closed")
    assert client_for(world.z).get(f"/api/chat/{body[1]['id']}/messages/").status_code == 200


def test_staff_read_a_thread_in_admin_but_cannot_change_it(world: Quoted, client: Any) -> None:
    thread = services.chat_threads_open(job=world.job, viewer=world.customer)[0]
    message, _ = services.chat_send(thread=thread, sender=world.x, text="Evidence <b>for</b> a dispute")
    staff = make_user("chat_admin", is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get(f"/admin/chat/thread/{thread.pk}/change/")
    assert page.status_code == 200
    assert "Evidence &lt;b&gt;for&lt;/b&gt; a dispute" in page.content.decode()
    assert client.get(f"/admin/chat/message/{message.pk}/change/").status_code == 200
    client.post(f"/admin/chat/message/{message.pk}/change/", {"text": "edited"})
    client.post(f"/admin/chat/message/{message.pk}/delete/", {"post": "yes"})
    assert Message.objects.get(pk=message.pk).text == "Evidence <b>for</b> a dispute"
