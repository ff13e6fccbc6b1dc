"""Live pushes to browsers, sent only after the read model has committed.

Kafka handlers call :func:`send_on_commit` (for an event of an aggregate) or
:func:`send_plain_on_commit` (for things with no sequence, like notifications);
nothing is sent if the transaction rolls back.

Each push of an aggregate's event carries ``seq`` and ``prev_seq``: the last
sequence this consumer pushed to this stream for this aggregate before, kept in
:class:`~marketplace.realtime.models.LivePosition` in the same transaction.  A
browser that saw ``prev_seq`` is up to date; one that saw less missed a push
(Redis blip, full channel, reconnect) and refetches through the API.

The consumer runner wraps each batch in :func:`batched`, so one batch's pushes go
out together in one event-loop round (``group_send`` calls gathered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from marketplace.events.context import current_consumer
from marketplace.events.envelope import Envelope

from .models import LivePosition

log = logging.getLogger(__name__)

_local = threading.local()
MAX_CONCURRENT_SENDS = 32

Push = tuple[str, dict[str, Any]]


def _json(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


def send_on_commit(stream: str, event: Envelope, data: dict[str, Any], *, name: str | None = None) -> None:
    """Push ``data`` about ``event`` to every socket on ``stream`` once the transaction commits.

    ``name`` overrides the event name the browser sees (e.g. a ``job.posted``
    event that reaches a tradesperson as ``lead.offered``).
    """
    source = current_consumer() or "app"
    aggregate = f"{event.aggregate_type}:{event.aggregate_id}"
    prev_seq = _advance(stream, source, aggregate, event.sequence)
    message = {
        "type": "live.event",
        "stream": stream,
        "event": name or event.event_type,
        "source": source,
        "aggregate": aggregate,
        "seq": event.sequence,
        "prev_seq": prev_seq,
        "data": _json(data),  # serialised now: a bad payload fails here, not after commit
    }
    transaction.on_commit(lambda: _deliver([(stream, message)]))


def send_plain_on_commit(stream: str, event: str, data: dict[str, Any]) -> None:
    """Push something that has no aggregate sequence (a notification, a counter)."""
    message = {
        "type": "live.event",
        "stream": stream,
        "event": event,
        "source": "",
        "aggregate": "",
        "seq": None,
        "prev_seq": None,
        "data": _json(data),
    }
    transaction.on_commit(lambda: _deliver([(stream, message)]))


def _advance(stream: str, source: str, aggregate: str, sequence: int) -> int | None:
    """Record ``sequence`` as the stream's position; return the previous one (None if first)."""
    table = LivePosition._meta.db_table
    with connection.cursor() as cursor:
        # One statement, row-locked: the UPDATE's SET sees the old row, so it can keep
        # the old position in previous_sequence and RETURNING hands it back.
        cursor.execute(
            f"""INSERT INTO {table} AS p (stream, source, aggregate, last_sequence, previous_sequence)
                VALUES (%s, %s, %s, %s, NULL)
                ON CONFLICT (stream, source, aggregate) DO UPDATE
                SET previous_sequence = p.last_sequence, last_sequence = GREATEST(p.last_sequence, EXCLUDED.last_sequence)
                RETURNING previous_sequence""",
            [stream, source, aggregate, sequence],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def positions(stream: str, aggregates: Iterable[str] | None = None) -> dict[str, int]:
    """Current positions of a stream, as the browser keys them (``source|aggregate``).

    Pass the aggregates a page shows (``"job:42"``): user and board streams hold
    one position per job ever pushed to them.
    """
    rows = LivePosition.objects.filter(stream=stream)
    if aggregates is not None:
        rows = rows.filter(aggregate__in=list(aggregates))
    return {f"{source}|{aggregate}": seq for source, aggregate, seq in rows.values_list("source", "aggregate", "last_sequence")}


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

    # One stream's messages go out one after another, in the order they were made (a browser drops
    # a push whose sequence is below one it already has, so overtaking would lose it); different
    # streams go concurrently, bounded: each in-flight group_send holds a Redis connection, and a
    # batch of hundreds at once exhausts the pool (MaxConnectionsError).
    by_stream: dict[str, list[dict[str, Any]]] = {}
    for group, message in items:
        by_stream.setdefault(group, []).append(message)

    async def send_all() -> None:
        limit = asyncio.Semaphore(MAX_CONCURRENT_SENDS)

        async def send_stream(group: str, messages: list[dict[str, Any]]) -> None:
            async with limit:
                for message in messages:
                    await layer.group_send(group, message)

        await asyncio.gather(*(send_stream(group, messages) for group, messages in by_stream.items()))

    try:
        async_to_sync(send_all)()
    except Exception:
        # The read model is committed; a browser that missed this push sees the
        # sequence gap on its next message or reconnect and refetches.
        log.warning("live push of %d message(s) failed", len(items), exc_info=True)
