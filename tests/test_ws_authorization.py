"""Who may subscribe to which live stream: every registered stream prefix by six people, through the real websocket.

The world is tests/test_permissions.py's (customer A owns job J, which tradesperson X was
offered and bid on; A's jobs awarded to X, one scheduled with X's worker; A's chat threads
with X and Z on J; Y a tradesperson with no lead; B a customer with a job of her own; staff;
anonymous).  On top of it X sets off for the scheduled job, so its ``track`` stream is open
to the customer while X is on the way.

Each row names a stream and the roles that may subscribe; every other role must be refused
(``{"type": "error", "code": "forbidden"}``; anonymous sockets are closed with 4401 before they
can ask).  ``test_every_registered_prefix_has_rows`` fails when an app registers a stream
prefix (``marketplace.realtime.streams.register``) without adding rows here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from chat.models import Thread
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from marketplace.asgi import application
from marketplace.realtime import streams
from tests.test_permissions import World, build_world
from tracking.services import visit_act

ROLES = ("anon", "A", "B", "X", "Y", "staff")
EVERYONE_SIGNED_IN = frozenset({"A", "B", "X", "Y", "staff"})

Stream = Callable[[World], str]


def _thread(w: World, pro: str) -> int:
    return Thread.objects.get(job=w.job, tradesperson__username=pro).pk


def _b_job(w: World) -> int:
    return Job.objects.get(customer=w.users["B"]).pk


# (stream prefix, description) -> (stream for this world, the roles that may subscribe).
MATRIX: dict[tuple[str, str], tuple[Stream, frozenset[str]]] = {
    ("user", "A's own notifications"): (lambda w: f"user.{w.users['A'].pk}", frozenset({"A"})),
    ("user", "X's own notifications"): (lambda w: f"user.{w.users['X'].pk}", frozenset({"X"})),
    ("job", "A's job J (bids in full)"): (lambda w: f"job.{w.job.pk}", frozenset({"A", "staff"})),
    ("job", "B's job"): (lambda w: f"job.{_b_job(w)}", frozenset({"B", "staff"})),
    ("job", "a malformed id"): (lambda w: "job.abc", frozenset()),
    ("jobfeed", "J's public changes"): (lambda w: f"jobfeed.{w.job.pk}", frozenset({"A", "X", "staff"})),
    ("jobfeed", "B's job's public changes"): (lambda w: f"jobfeed.{_b_job(w)}", frozenset({"B", "staff"})),
    ("board", "the open jobs board"): (lambda w: "board.all", frozenset({"X", "Y", "staff"})),
    ("board", "another board name"): (lambda w: "board.secret", frozenset()),
    ("calendar", "X's business calendar"): (lambda w: f"calendar.{w.users['X'].pk}", frozenset({"X", "staff"})),
    ("calendar", "Y's business calendar"): (lambda w: f"calendar.{w.users['Y'].pk}", frozenset({"Y", "staff"})),
    ("chat", "A's thread with X"): (lambda w: f"chat.{_thread(w, 'trade_x')}", frozenset({"A", "X"})),
    ("chat", "A's thread with Z"): (lambda w: f"chat.{_thread(w, 'trade_z')}", frozenset({"A"})),
    ("track", "scheduled job, X on the way"): (lambda w: f"track.{w.scheduled_job.pk}", frozenset({"A", "X"})),
    ("track", "awarded job, no visit yet"): (lambda w: f"track.{w.awarded_job.pk}", frozenset({"X"})),
    ("track", "open job J"): (lambda w: f"track.{w.job.pk}", frozenset()),
    ("pro", "X's public profile"): (lambda w: f"pro.{w.users['X'].pk}", EVERYONE_SIGNED_IN),
    ("insights", "X's own numbers"): (lambda w: f"insights.{w.users['X'].pk}", frozenset({"X", "staff"})),
    ("insights", "A's id (a customer has none)"): (lambda w: f"insights.{w.users['A'].pk}", frozenset({"staff"})),
    ("insights", "the platform's numbers"): (lambda w: "insights.platform", frozenset({"staff"})),
    ("staff", "the staff alerts inbox"): (lambda w: "staff.alerts", frozenset({"staff"})),
    ("staff", "another staff stream name"): (lambda w: "staff.secrets", frozenset()),
    ("nosuch", "an unregistered prefix"): (lambda w: "nosuch.1", frozenset()),
}
CHUNK = 15  # subscriptions per socket (the flood bucket holds 20)


@pytest.fixture
def world(customer: User, other_customer: User, tradesperson: User) -> World:
    """tests/test_permissions.py's world, built in one transaction (this test needs committed rows: the socket
    reads them from another connection; some services it calls expect to run inside a transaction)."""
    with transaction.atomic():
        built = build_world(customer, other_customer, tradesperson)
        visit_act(job=built.scheduled_job, actor=built.users["X"], action="on_the_way")
    return built


def test_every_registered_prefix_has_rows() -> None:
    covered = {prefix for prefix, _ in MATRIX}
    registered = set(streams._AUTHORIZERS) | {"user"}
    assert registered - covered == set(), "a stream prefix was registered without rows in this matrix"
    assert covered - registered == {"nosuch"}  # no stale rows for prefixes that are gone


def _cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _token_headers(user: Any) -> list[tuple[bytes, bytes]]:
    """A native app's handshake: an API token, no Origin, no cookie."""
    _, token = api_token_create(user=user, label="matrix")
    return [(b"host", b"localhost"), (b"authorization", f"Bearer {token}".encode())]


async def _ask(cookie: str | None, wanted: list[str], headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, str]:
    """Subscribe to each stream on real sockets; return stream -> 'subscribed' / 'forbidden' / 'closed:<code>'.

    ``headers``: the handshake's, instead of a browser's (Origin, and ``cookie`` when given)."""
    answers: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        if headers is None:
            sent = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
            if cookie:
                sent.append((b"cookie", cookie.encode()))
        else:
            sent = headers
        ws = WebsocketCommunicator(application, "/ws/live/", headers=sent)
        connected, code = await ws.connect(timeout=15)
        if not connected:
            answers.update(dict.fromkeys(wanted[start : start + CHUNK], f"closed:{code}"))
            continue
        # Always disconnect, and give the consumer time to leave its groups on a loaded machine: the
        # communicator's default (1 s) cancels the consumer mid-clean-up instead.
        try:
            hello = await ws.receive_json_from(timeout=15)
            assert hello["type"] == "subscribed" and hello["stream"].startswith("user.")
            for stream in wanted[start : start + CHUNK]:
                await ws.send_json_to({"action": "subscribe", "stream": stream})
                reply = await ws.receive_json_from(timeout=15)
                if reply["type"] == "subscribed" and reply["stream"] == stream:
                    answers[stream] = "subscribed"
                elif reply["type"] == "error" and reply.get("stream") == stream:
                    answers[stream] = reply["code"]
                else:
                    raise AssertionError(f"unexpected reply to {stream}: {reply}")
        finally:
            await ws.disconnect(timeout=15)
    return answers


async def _ask_every_role(cookies: dict[str, str | None], wanted: list[str]) -> dict[str, dict[str, str]]:
    return {role: await _ask(cookie, wanted) for role, cookie in cookies.items()}


def _run(coroutine: Any) -> Any:
    """Run ``coroutine`` on one fresh loop under an overall limit; fail, naming them, if tasks are left behind.

    Every socket of every role runs on this one loop, against a channel layer of this test's own
    (``own_channel_layer``): a channels_redis layer refuses receives from two loops at once, and a
    receive another test left behind on another loop must not decide this test."""
    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(asyncio.wait_for(coroutine, 240))
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        if leftovers:
            _, pending = loop.run_until_complete(asyncio.wait(leftovers, timeout=15))
            assert not pending, f"tasks that would not finish cancelling: {pending}"
        return result
    finally:
        loop.close()


@pytest.fixture
def own_channel_layer() -> Iterator[None]:
    """A channel layer instance for this test alone, dropped afterwards."""
    saved = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    try:
        yield
    finally:
        channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
        if saved is not None:
            channel_layers.backends[DEFAULT_CHANNEL_LAYER] = saved


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_channel_layer")
def test_subscription_matrix_over_every_stream_and_role(world: World) -> None:
    named = {key: (stream(world), allowed) for key, (stream, allowed) in MATRIX.items()}
    wanted = [stream for stream, _ in named.values()]
    assert len(set(wanted)) == len(wanted)

    failures: list[str] = []
    cases = 0
    cookies = {role: _cookie(world.users[role]) if role in world.users else None for role in ROLES}
    answers_by_role = _run(_ask_every_role(cookies, wanted))
    for role in ROLES:
        user = world.users.get(role)
        answers = answers_by_role[role]
        for (prefix, what), (stream, allowed) in named.items():
            cases += 1
            expected = "subscribed" if role in allowed else ("closed:4401" if role == "anon" else "forbidden")
            if answers[stream] != expected:
                failures.append(f"{role} on {stream} ({prefix}: {what}): expected {expected}, got {answers[stream]}")
            # The function the consumer asks agrees (anonymous: AnonymousUser).
            if user is not None and streams.can_subscribe(user, stream) != (role in allowed):
                failures.append(f"can_subscribe({role}, {stream}) disagrees with the socket")
    assert failures == []
    assert cases == len(MATRIX) * len(ROLES) == 138


async def _ask_every_role_by_token(headers: dict[str, list[tuple[bytes, bytes]]], wanted: list[str]) -> dict[str, dict[str, str]]:
    return {role: await _ask(None, wanted, headers=sent) for role, sent in headers.items()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_channel_layer")
def test_a_token_socket_may_subscribe_to_exactly_what_the_session_may(world: World) -> None:
    """The same matrix through API-token sockets with no Origin (a native app): a token widens nothing."""
    named = {key: (stream(world), allowed) for key, (stream, allowed) in MATRIX.items()}
    wanted = [stream for stream, _ in named.values()]
    signed_in = [role for role in ROLES if role in world.users]
    answers_by_role = _run(_ask_every_role_by_token({role: _token_headers(world.users[role]) for role in signed_in}, wanted))
    failures = [
        f"{role} on {stream} ({prefix}: {what}): expected {expected}, got {answers_by_role[role][stream]}"
        for role in signed_in
        for (prefix, what), (stream, allowed) in named.items()
        if answers_by_role[role][stream] != (expected := "subscribed" if role in allowed else "forbidden")
    ]
    assert failures == []
    assert len(signed_in) * len(MATRIX) == 115
