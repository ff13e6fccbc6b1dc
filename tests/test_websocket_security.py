"""The live websocket refuses foreign origins and anonymous users, throttles floods, and closes on logout."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from marketplace.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"localhost")


def communicator(origin: bytes = b"http://localhost", cookie: str | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", origin), HOST]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, "/ws/live/", headers=headers)


def signed_in_cookie(user: Any) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, f"sessionid={client.cookies['sessionid'].value}"


def test_a_foreign_origin_is_refused(customer) -> None:
    _, cookie = signed_in_cookie(customer)

    async def scenario() -> bool:
        ws = communicator(origin=b"https://evil.example", cookie=cookie)
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_an_anonymous_socket_is_closed() -> None:
    async def scenario() -> Any:
        ws = communicator()
        connected, code = await ws.connect()
        return connected, code

    connected, code = async_to_sync(scenario)()
    assert connected is False and code == 4401


def test_a_flood_closes_the_socket(customer) -> None:
    _, cookie = signed_in_cookie(customer)

    async def scenario() -> list[Any]:
        ws = communicator(cookie=cookie)
        assert (await ws.connect())[0]
        await ws.receive_json_from()  # subscribed to user.<id>
        for _ in range(40):
            await ws.send_to(text_data='{"action": "unsubscribe", "stream": "job.1"}')
        seen = []
        while True:
            output = await ws.receive_output(timeout=5)
            seen.append(output)
            if output["type"] == "websocket.close":
                return seen

    seen = async_to_sync(scenario)()
    assert seen[-1] == {"type": "websocket.close", "code": 4429}
    assert any('"too_many_messages"' in o.get("text", "") for o in seen)
    # Up to the burst is answered normally.
    assert sum('"unsubscribed"' in o.get("text", "") for o in seen) >= 20


def test_garbage_frames_get_an_error_not_a_crash(customer) -> None:
    _, cookie = signed_in_cookie(customer)

    async def scenario() -> list[dict[str, Any]]:
        ws = communicator(cookie=cookie)
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_to(text_data="not json")
        first = await ws.receive_json_from()
        await ws.send_to(text_data='{"action": "subscribe", "stream": "' + "x" * 3000 + '"}')
        second = await ws.receive_json_from()
        await ws.disconnect()
        return [first, second]

    assert [m["code"] for m in async_to_sync(scenario)()] == ["bad_request", "bad_request"]


def test_logging_out_closes_that_sessions_sockets_only(customer) -> None:
    leaving, leaving_cookie = signed_in_cookie(customer)
    _, staying_cookie = signed_in_cookie(customer)  # the same person on another device

    def log_out() -> None:
        try:
            leaving.post("/accounts/logout/")
        finally:
            connection.close()

    async def scenario() -> tuple[Any, bool]:
        gone, kept = communicator(cookie=leaving_cookie), communicator(cookie=staying_cookie)
        assert (await gone.connect())[0] and (await kept.connect())[0]
        await gone.receive_json_from()
        await kept.receive_json_from()
        await sync_to_async(log_out, thread_sensitive=False)()
        closed = await gone.receive_output(timeout=5)
        still_quiet = await kept.receive_nothing(timeout=0.5)
        await kept.disconnect()
        return closed, still_quiet

    closed, still_quiet = async_to_sync(scenario)()
    assert closed == {"type": "websocket.close", "code": 4401}
    assert still_quiet
