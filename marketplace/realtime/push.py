"""Live pushes to browsers, sent only after the read model has committed.

Kafka handlers call :func:`send_on_commit`; nothing is sent if the transaction
rolls back.  Every push names its stream (the Channels group, e.g. ``job.42``)
and the aggregate's sequence number, so a browser that sees a gap refetches the
aggregate through the API instead of silently missing an event.

The consumer runner wraps each batch in :func:`batched`, so one batch's pushes
go out together in one event-loop round (``group_send`` calls gathered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

log = logging.getLogger(__name__)

_local = threading.local()

Push = tuple[str, dict[str, Any]]


def live_message(stream: str, event: str, seq: int, data: dict[str, Any]) -> dict[str, Any]:
    """The one shape of a live message, as the browser receives it (minus ``type``)."""
    payload: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return {"type": "live.event", "stream": stream, "event": event, "seq": seq, "data": payload}


def send_on_commit(stream: str, event: str, seq: int, data: dict[str, Any]) -> None:
    """Push ``data`` to every socket subscribed to ``stream`` once the current transaction commits."""
    message = live_message(stream, event, seq, data)  # serialise now: a bad payload fails here
    transaction.on_commit(lambda: _deliver([(stream, message)]))


def _deliver(items: list[Push]) -> None:
    buffer: list[Push] | None = getattr(_local, "buffer", None)
    if buffer is not None:
        buffer.extend(items)
    else:
        send_now(items)


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Collect the pushes of a block (which commits inside it) and send them at its end."""
    previous = getattr(_local, "buffer", None)
    _local.buffer = []
    try:
        yield
        items: list[Push] = _local.buffer
    finally:
        _local.buffer = previous
    if items:
        send_now(items)


def send_now(items: list[Push]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group, message in items))

    try:
        async_to_sync(send_all)()
    except Exception:
        # The read model is committed; a browser that missed this push sees the
        # sequence gap on its next message or reconnect and refetches.
        log.warning("live push of %d message(s) failed", len(items), exc_info=True)
