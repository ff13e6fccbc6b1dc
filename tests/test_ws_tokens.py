"""The live websocket with an API token: native apps connect without an Origin; bad tokens get 4401; revoking closes.

Cookie sessions keep the Origin check (tests/test_websocket_security.py); the stream matrix for token
sockets is in tests/test_ws_authorization.py.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.utils import timezone

from marketplace.accounts.services import api_token_create, api_token_revoke, api_tokens_revoke_all
from marketplace.asgi import application
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db(transaction=True)

HOST = (b"host", b"localhost")


def by_header(token: str, scheme: str = "Bearer") -> WebsocketCommunicator:
    """A native client: an Authorization header, and no Origin (apps send none)."""
    return WebsocketCommunicator(application, "/ws/live/", headers=[HOST, (b"authorization", f"{scheme} {token}".encode())])


def by_subprotocol(token: str, origin: bytes = b"https://app.example") -> WebsocketCommunicator:
    """A browser script on another origin: it cannot set headers, but can offer subprotocols."""
    return WebsocketCommunicator(
        application, "/ws/live/", headers=[HOST, (b"origin", origin)], subprotocols=["tradelink.live", f"token.{token}"]
    )


async def hang_up(*sockets: WebsocketCommunicator) -> None:
    """Let each consumer run its own disconnect before the test's event loop closes.

    A socket the server closed still waits for the client's disconnect; left to the loop's shutdown, its
    task is cancelled mid-cleanup, and once in CI that shutdown never finished.
    """
    for ws in sockets:
        # An application that already failed has nothing left to clean up.
        with contextlib.suppress(Exception):
            await ws.disconnect(timeout=5)


def in_thread(fn: Any) -> Any:
    def run() -> Any:
        try:
            return fn()
        finally:
            connection.close()

    return sync_to_async(run, thread_sensitive=False)()


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_a_token_socket_without_an_origin_connects_and_gets_live_pushes(customer, scheme) -> None:
    job = JobFactory.create(customer=customer)
    _, token = api_token_create(user=customer, label="phone")

    async def scenario() -> list[Any]:
        ws = by_header(token, scheme)
        connected, _ = await ws.connect()
        assert connected
        hello = await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"job.{job.pk}"})
        subscribed = await ws.receive_json_from()
        await get_channel_layer().group_send(f"job.{job.pk}", {"type": "live.event", "stream": f"job.{job.pk}", "event": "bid.placed"})
        pushed = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return [hello, subscribed, pushed]

    hello, subscribed, pushed = async_to_sync(scenario)()
    assert hello == {"type": "subscribed", "stream": f"user.{customer.pk}"}
    assert subscribed == {"type": "subscribed", "stream": f"job.{job.pk}"}
    assert pushed == {"type": "event", "stream": f"job.{job.pk}", "event": "bid.placed"}


def test_a_token_in_a_subprotocol_connects_from_any_origin_and_the_token_is_not_echoed(customer) -> None:
    _, token = api_token_create(user=customer)

    async def scenario() -> tuple[bool, Any, Any]:
        ws = by_subprotocol(token)
        connected, subprotocol = await ws.connect()
        hello = await ws.receive_json_from()
        await ws.disconnect()
        return connected, subprotocol, hello

    connected, subprotocol, hello = async_to_sync(scenario)()
    assert connected and subprotocol == "tradelink.live"
    assert hello["stream"] == f"user.{customer.pk}"


async def _refused(ws: WebsocketCommunicator) -> Any:
    try:
        connected, _ = await ws.connect(timeout=15)
        assert connected  # accepted, then closed with a code the app can act on
        return await ws.receive_output(timeout=15)
    finally:
        await hang_up(ws)


@pytest.mark.parametrize("how", ["garbage", "revoked", "expired", "disabled_user", "empty"])
def test_a_bad_token_is_closed_with_4401(customer, settings, how) -> None:
    row, token = api_token_create(user=customer)
    if how == "garbage":
        token = "tl_" + "0" * 64
    elif how == "revoked":
        api_token_revoke(user=customer, uid=row.uid)
    elif how == "expired":
        row.expiry = timezone.now() - timedelta(seconds=1)
        row.save(update_fields=["expiry"])
    elif how == "disabled_user":
        customer.is_active = False
        customer.save(update_fields=["is_active"])

    async def scenario() -> list[Any]:
        # One loop for every socket of the test: channels_redis refuses receives from two loops at once.
        if how == "empty":
            return [await _refused(WebsocketCommunicator(application, "/ws/live/", headers=[HOST, (b"authorization", b"Bearer")]))]
        # The same bad token in a subprotocol is refused the same way.
        return [await _refused(by_header(token)), await _refused(by_subprotocol(token))]

    assert all(closed == {"type": "websocket.close", "code": 4401} for closed in async_to_sync(scenario)())


def test_a_cookie_session_still_needs_a_good_origin(customer) -> None:
    client = Client()
    client.force_login(customer)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())

    async def connects(headers: list[tuple[bytes, bytes]]) -> bool:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=headers)
        connected, _ = await ws.connect(timeout=15)
        await ws.disconnect(timeout=15)
        return bool(connected)

    async def scenario() -> list[Any]:
        # One loop for every socket of the test: channels_redis refuses receives from two loops at once.
        evil = (b"origin", b"https://evil.example")
        garbage = WebsocketCommunicator(application, "/ws/live/", headers=[HOST, cookie, evil], subprotocols=["token.nope"])
        return [
            await connects([HOST, cookie]),  # no Origin
            await connects([HOST, cookie, evil]),
            await _refused(garbage),  # a garbage token does not fall back to the cookie
            await connects([HOST, cookie, (b"origin", b"http://localhost")]),
        ]

    assert async_to_sync(scenario)() == [False, False, {"type": "websocket.close", "code": 4401}, True]


@pytest.mark.parametrize("how", ["one", "all"])
def test_revoking_a_token_closes_its_open_sockets_only(customer, how) -> None:
    phone, laptop = api_token_create(user=customer, label="phone"), api_token_create(user=customer, label="laptop")

    def revoke() -> None:
        if how == "one":
            api_token_revoke(user=customer, uid=phone[0].uid)
        else:
            api_tokens_revoke_all(user=customer)

    async def scenario() -> tuple[Any, Any]:
        gone, other = by_header(phone[1]), by_header(laptop[1])
        try:
            assert (await gone.connect())[0] and (await other.connect())[0]
            await gone.receive_json_from()
            await other.receive_json_from()
            await in_thread(revoke)
            closed = await gone.receive_output(timeout=5)
            if how == "one":
                other_result = await other.receive_nothing(timeout=0.5)
            else:
                other_result = await other.receive_output(timeout=5)
            return closed, other_result
        finally:
            await hang_up(gone, other)

    closed, other_result = async_to_sync(scenario)()
    assert closed == {"type": "websocket.close", "code": 4401}
    assert other_result == (True if how == "one" else {"type": "websocket.close", "code": 4401})


def test_a_socket_closes_at_its_first_message_after_the_token_expires(customer, settings) -> None:
    settings.API_TOKEN_TTL_HOURS = 1
    _, token = api_token_create(user=customer)

    async def scenario() -> Any:
        ws = by_header(token)
        try:
            assert (await ws.connect())[0]
            await ws.receive_json_from()
            with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
                await ws.send_json_to({"action": "unsubscribe", "stream": "job.1"})
                return await ws.receive_output(timeout=5)
        finally:
            await hang_up(ws)

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4401}
