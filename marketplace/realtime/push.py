"""Live pushes to browsers, sent only after the read model has committed.

Kafka handlers call :func:`send_on_commit` (for an event of an aggregate) or
:func:`send_plain_on_commit` (for things with no sequence, like notifications);
nothing is sent if the transaction rolls back.

Each push of an aggregate's event carries ``seq`` and ``prev_seq``: the last
sequence this consumer pushed to this stream for this aggregate before, kept in
:class:`~marketplace.realtime.models.LivePosition` in the same transaction.  A
browser that saw ``prev_seq`` is up to date; one that saw less missed a push
(Redis blip, full channel, reconnect) and refetches through the API.

The consumer runner wraps each batch in :func:`batched` (a batch hook that
``RealtimeConfig.ready()`` registers in ``marketplace.events.hooks``), so one
batch's pushes go out together in one event-loop round (``group_send`` calls gathered).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from marketplace.events import bulk
from marketplace.events.context import current_consumer, peek_correlation_id
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
    message = _event_message(stream, event, data, source=source, aggregate=aggregate, prev_seq=prev_seq, name=name)
    transaction.on_commit(lambda: _deliver([(stream, message)]))


def _event_message(
    stream: str, event: Envelope, data: dict[str, Any], *, source: str, aggregate: str, prev_seq: int | None, name: str | None
) -> dict[str, Any]:
    return {
        "type": "live.event",
        "stream": stream,
        "event": name or event.event_type,
        "source": source,
        "aggregate": aggregate,
        "seq": event.sequence,
        "prev_seq": prev_seq,
        "correlation_id": event.correlation_id,  # the request that caused it, as in every log line about it
        "data": _json(data),  # serialised now: a bad payload fails here, not after commit
    }


def send_many_on_commit(stream: str, items: Sequence[tuple[Envelope, dict[str, Any]]], *, name: str | None = None) -> None:
    """:func:`send_all_on_commit` for many events on one stream."""
    send_all_on_commit([(stream, event, data) for event, data in items], name=name)


def send_all_on_commit(items: Sequence[tuple[str, Envelope, dict[str, Any]]], *, name: str | None = None) -> None:
    """:func:`send_on_commit` for many (stream, event, data), with one position upsert for all of them.

    For a consumer's bulk handler.  Exactly the effect of calling :func:`send_on_commit` for each in
    the order given (any streams, an aggregate any number of times): each push names the position
    its stream had before it, counting the pushes before it in ``items``, and they go out in order.
    """
    if not items:
        return
    source = current_consumer() or "app"
    keys = [(stream, f"{event.aggregate_type}:{event.aggregate_id}") for stream, event, _ in items]
    position: dict[tuple[str, str], int] = _advance_all(
        source, [(key, event.sequence) for key, (_, event, _) in zip(keys, items, strict=True)]
    )
    messages: list[Push] = []
    for (stream, aggregate), (_, event, data) in zip(keys, items, strict=True):
        prev_seq = position.get((stream, aggregate))
        position[(stream, aggregate)] = event.sequence if prev_seq is None else max(prev_seq, event.sequence)
        messages.append((stream, _event_message(stream, event, data, source=source, aggregate=aggregate, prev_seq=prev_seq, name=name)))
    transaction.on_commit(lambda: _deliver(messages))


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
        "correlation_id": peek_correlation_id(),
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


def _advance_all(source: str, pushes: list[tuple[tuple[str, str], int]]) -> dict[tuple[str, str], int]:
    """:func:`_advance` for each ((stream, aggregate), sequence) in order; {(stream, aggregate): position before the first}.

    One upsert for all distinct keys, with the highest sequence each reaches; a key pushed more
    than once then gets, in a second statement, the ``previous_sequence`` the last of its pushes
    would have left (the highest before it), so the rows end as one :func:`_advance` per push leaves them.
    """
    table = LivePosition._meta.db_table
    highest: dict[tuple[str, str], int] = {}
    before_last: dict[tuple[str, str], int | None] = {}
    for key, sequence in pushes:
        if key in highest:
            before_last[key] = highest[key]
            highest[key] = max(highest[key], sequence)
        else:
            highest[key] = sequence
    ordered = sorted(highest)  # rows locked in one order by every writer
    rows = bulk.execute(
        f"""INSERT INTO {table} AS p (stream, source, aggregate, last_sequence, previous_sequence)
            SELECT v.stream, %b::text, v.aggregate, v.seq, NULL
            FROM unnest(%b::text[], %b::text[], %b::bigint[]) AS v(stream, aggregate, seq)
            ON CONFLICT (stream, source, aggregate) DO UPDATE
            SET previous_sequence = p.last_sequence, last_sequence = GREATEST(p.last_sequence, EXCLUDED.last_sequence)
            RETURNING stream, aggregate, previous_sequence""",
        [source, [s for s, _ in ordered], [a for _, a in ordered], [highest[k] for k in ordered]],
    )
    if before_last:
        repeated = sorted(before_last)
        bulk.execute(
            f"""UPDATE {table} AS p SET previous_sequence = GREATEST(p.previous_sequence, v.before_last)
                FROM unnest(%b::text[], %b::text[], %b::bigint[]) AS v(stream, aggregate, before_last)
                WHERE p.source = %b::text AND p.stream = v.stream AND p.aggregate = v.aggregate""",
            [[s for s, _ in repeated], [a for _, a in repeated], [before_last[k] for k in repeated], source],
        )
    return {(stream, aggregate): int(prev) for stream, aggregate, prev in rows if prev is not None}


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
                if len(messages) > 1 and isinstance(layer, RedisChannelLayer):
                    await _redis_group_send_many(layer, group, messages)
                    return
                for message in messages:
                    await layer.group_send(group, message)

        await asyncio.gather(*(send_stream(group, messages) for group, messages in by_stream.items()))

    try:
        LOOP.run(send_all, timeout=SEND_TIMEOUT_S)
    except Exception:
        # The read model is committed; a browser that missed this push sees the
        # sequence gap on its next message or reconnect and refetches.
        log.warning("live push of %d message(s) failed", len(items), exc_info=True)


SEND_TIMEOUT_S = 10.0


class PushLoop:
    """One asyncio event loop per process, in a daemon thread, that every push from sync code runs on.

    ``async_to_sync`` from a plain thread starts a new thread and a new event loop for each call, and
    channels_redis keeps its connection pools per event loop: every push paid for a thread, a loop and a
    new TCP connection to Redis (2.8-2.9 CPU ms per ``send_now`` of one message, ``python -m bench.profile
    push``).  One long-lived loop keeps the pool.  A forked child (a consumer process started by
    ``consume --all``) gets a loop of its own: a thread does not survive ``fork``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # In a forked child the loop's thread is gone, and a fork taken while another thread held the
        # lock would leave it held forever: start over there.
        os.register_at_fork(after_in_child=self._forget_parent)

    def _forget_parent(self) -> None:
        self._lock = threading.Lock()
        self._loop = None

    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            with self._lock:
                if self._loop is None:
                    loop = asyncio.new_event_loop()
                    threading.Thread(target=loop.run_forever, name="live-push-loop", daemon=True).start()
                    self._loop = loop
        return self._loop

    def run(self, work: Callable[[], Coroutine[Any, Any, None]], *, timeout: float) -> None:
        """Run ``work()`` on the loop and wait for it; past ``timeout`` it is cancelled and TimeoutError raised."""
        if _running_loop() is not None:
            # Waiting here would stall the caller's event loop; async code awaits the channel layer itself.
            raise RuntimeError("live pushes from sync code only: this thread runs an event loop")
        future = asyncio.run_coroutine_threadsafe(work(), self.loop())
        try:
            future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"live push still running after {timeout:g} s; cancelled") from None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


LOOP = PushLoop()


_GROUP_SEND_LUA = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""


async def _redis_group_send_many(layer: RedisChannelLayer, group: str, messages: list[dict[str, Any]]) -> None:
    """``group_send`` of several messages to one group, in order, in three Redis round trips.

    channels_redis (4.3) reads the group's members and writes each message with two round
    trips of its own per message: a consumer batch of 500 board pushes waited on ~2,000
    sequential round trips.  This reads the members once and sends every message to
    every member through one pipeline per Redis connection (a pipeline runs in order on
    one connection, so each socket still gets them in order), with channels_redis's own
    key mapping, serialisation, capacity check and Lua script.
    """
    key = layer._group_key(group)
    connection = layer.connection(layer.consistent_hash(group))
    now = time.time()
    await connection.zremrangebyscore(key, min=0, max=int(now) - layer.group_expiry)
    channel_names = [x.decode("utf8") for x in await connection.zrange(key, 0, -1)]
    if not channel_names:
        return
    pipes: dict[int, Any] = {}
    expired_cleanups: dict[int, int] = {}  # per pipeline: how many commands precede the scripts
    stamp = 0.0
    for i, message in enumerate(messages):
        # A channel's messages are read in score (time) order: strictly increasing, or two in one clock tick could swap.
        stamp = max(time.time(), stamp + 1e-6)
        to_keys, key_message, key_capacity = layer._map_channel_keys_to_connection(channel_names, message)
        for index, channel_keys in to_keys.items():
            pipe = pipes.get(index)
            if pipe is None:
                pipe = pipes[index] = layer.connection(index).pipeline(transaction=False)
            if i == 0:  # discard expired messages once, as group_send does per message
                for channel_key in channel_keys:
                    pipe.zremrangebyscore(channel_key, min=0, max=int(now) - int(layer.expiry))
                expired_cleanups[index] = len(channel_keys)
            args = [key_message[k] for k in channel_keys] + [key_capacity[k] for k in channel_keys] + [stamp, layer.expiry]
            pipe.eval(_GROUP_SEND_LUA, len(channel_keys), *channel_keys, *args)
    over_capacity = 0
    for index, pipe in pipes.items():
        results = await pipe.execute()
        over_capacity += sum(int(result) for result in results[expired_cleanups.get(index, 0) :])
    if over_capacity:
        log.info("%d message(s) over channel capacity in group %s", over_capacity, group)
