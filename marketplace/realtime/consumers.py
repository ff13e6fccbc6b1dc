"""The browser's websocket: one socket per page, subscribing to live streams.

Protocol (JSON both ways):

- client -> ``{"action": "subscribe", "stream": "job.42"}``; server answers
  ``{"type": "subscribed", "stream": ...}`` or ``{"type": "error", "code": "forbidden", ...}``
- client -> ``{"action": "unsubscribe", "stream": ...}``
- server -> ``{"type": "event", "stream", "event", "source", "aggregate", "seq",
  "prev_seq", "data"}`` for each push (see ``push`` for the sequence rules).

Every authenticated socket joins its own ``user.<id>`` stream.  Anonymous
sockets are closed (code 4401), and so is every socket of a session that logs out
(``signals``).  A socket opened with an API token (``auth``) is accepted and closed with 4401
when the token is unknown, revoked or expired, when it is revoked later (``signals``), and at its
first message or push after the token expires.  A socket sending more than a burst of 20 messages (refilled at 5/s)
is closed with 4429; a frame over 2,000 characters or not JSON gets an error.
Foreign origins never get here with a session (``AllowedHostsOriginValidator`` in ``auth``).
Authorization lives in ``streams``; this consumer stays thin.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from uuid import UUID

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from marketplace.ops.metrics import WEBSOCKET_CONNECTIONS

from .auth import SocketToken
from .streams import can_subscribe, user_stream

MAX_SUBSCRIPTIONS = 50
# Flood control per socket: a bucket of BURST messages refilled at RATE per second; an empty bucket closes the socket.
BURST = 20
RATE = 5.0
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FLOODING = 4429


def session_group(session_key: str) -> str:
    """The group of every socket opened with one login session (logging out closes them)."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def token_group(uid: UUID) -> str:
    """The group of every socket opened with one API token (revoking it closes them)."""
    return f"apitoken.{uid.hex}"


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' ``AsyncConsumer.dispatch`` without its thread hop per message.

        Channels closes stale database connections before every handler (``aclose_old_connections``, a
        ``sync_to_async`` call: a thread pool round trip), a fifth of Daphne's CPU when one push goes to a
        thousand sockets.  This consumer touches the database only through ``database_sync_to_async``,
        which closes stale connections around each of its calls itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.streams: set[str] = set()
        if self.scope.get("api_token_refused"):
            # Accept, then close with the code: a refused handshake looks like a network failure to an app.
            await self.accept(self.scope.get("accept_subprotocol"))
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.tokens, self.refilled = float(BURST), time.monotonic()
        await self.accept(self.scope.get("accept_subprotocol"))
        WEBSOCKET_CONNECTIONS.inc()
        self.counted = True
        session = self.scope.get("session")
        self.session_group = session_group(session.session_key) if session is not None and session.session_key else None
        if self.session_group:
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        api_token: SocketToken | None = self.scope.get("api_token")
        self.token_group = token_group(api_token.uid) if api_token is not None else None
        self.token_expiry = api_token.expiry if api_token is not None else None
        if self.token_group:
            await self.channel_layer.group_add(self.token_group, self.channel_name)
        await self._join(user_stream(user.pk))

    def _token_expired(self) -> bool:
        return self.token_expiry is not None and timezone.now() >= self.token_expiry

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            WEBSOCKET_CONNECTIONS.dec()
            self.counted = False
        for stream in list(getattr(self, "streams", ())):
            await self.channel_layer.group_discard(stream, self.channel_name)
        if getattr(self, "session_group", None):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)
        if getattr(self, "token_group", None):
            await self.channel_layer.group_discard(self.token_group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self._token_expired():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        now = time.monotonic()
        self.tokens = min(float(BURST), self.tokens + (now - self.refilled) * RATE)
        self.refilled = now
        if self.tokens < 1:
            await self.send_json({"type": "error", "code": "too_many_messages", "detail": "Slow down."})
            await self.close(code=CLOSE_FLOODING)
            return
        self.tokens -= 1
        if text_data is not None and len(text_data) > 2000:
            await self.send_json({"type": "error", "code": "bad_request", "detail": "Message too large."})
            return
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json({"type": "error", "code": "bad_request", "detail": "Send JSON."})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("stream"), str):
            await self.send_json({"type": "error", "code": "bad_request", "detail": "Send {action, stream}."})
            return
        action, stream = content.get("action"), content["stream"]
        if action == "subscribe":
            if len(self.streams) >= MAX_SUBSCRIPTIONS:
                await self.send_json({"type": "error", "code": "too_many", "stream": stream, "detail": "Too many subscriptions."})
            elif await database_sync_to_async(can_subscribe)(self.scope["user"], stream):
                await self._join(stream)
            else:
                await self.send_json({"type": "error", "code": "forbidden", "stream": stream, "detail": "Not allowed."})
        elif action == "unsubscribe":
            if stream in self.streams:
                self.streams.discard(stream)
                await self.channel_layer.group_discard(stream, self.channel_name)
            await self.send_json({"type": "unsubscribed", "stream": stream})
        else:
            await self.send_json({"type": "error", "code": "bad_request", "detail": f"Unknown action {action!r}."})

    async def _join(self, stream: str) -> None:
        self.streams.add(stream)
        await self.channel_layer.group_add(stream, self.channel_name)
        await self.send_json({"type": "subscribed", "stream": stream})

    async def session_end(self, message: dict[str, Any]) -> None:
        """The login session or API token behind this socket ended (logout, revoked): stop pushing to it."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def live_event(self, message: dict[str, Any]) -> None:
        if self._token_expired():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.send_json({**message, "type": "event"})
