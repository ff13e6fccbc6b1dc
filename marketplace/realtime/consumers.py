"""The browser's websocket: one socket per page, subscribing to live streams.

Protocol (JSON both ways):

- client -> ``{"action": "subscribe", "stream": "job.42"}``; server answers
  ``{"type": "subscribed", "stream": ...}`` or ``{"type": "error", "code": "forbidden", ...}``
- client -> ``{"action": "unsubscribe", "stream": ...}``
- server -> ``{"type": "event", "stream", "event", "source", "aggregate", "seq",
  "prev_seq", "data"}`` for each push (see ``push`` for the sequence rules).

Every authenticated socket joins its own ``user.<id>`` stream.  Anonymous
sockets are closed (code 4401).  Authorization lives in ``streams``; this
consumer stays thin.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from marketplace.ops.metrics import WEBSOCKET_CONNECTIONS

from .streams import can_subscribe, user_stream

MAX_SUBSCRIPTIONS = 50


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.streams: set[str] = set()
        await self.accept()
        WEBSOCKET_CONNECTIONS.inc()
        self.counted = True
        await self._join(user_stream(user.pk))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            WEBSOCKET_CONNECTIONS.dec()
            self.counted = False
        for stream in list(getattr(self, "streams", ())):
            await self.channel_layer.group_discard(stream, self.channel_name)

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

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({**message, "type": "event"})
