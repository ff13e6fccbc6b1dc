"""The loop every live push from sync code runs on (marketplace.realtime.push.PushLoop), on the real Redis."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from typing import Any

import pytest
from channels.layers import get_channel_layer

from marketplace.realtime import push
from tests.support import wait_until


async def _subscribe(layer: Any, group: str) -> str:
    channel: str = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def _receive(layer: Any, channel: str, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(count)]


def _layer_state(layer: Any) -> tuple[Any, Any]:
    """The push loop's channels_redis state: (its per-loop layer, its Redis client for the first host)."""
    loop_layer = layer._layers[push.LOOP.loop()]
    return loop_layer, loop_layer._connections[0]


def test_pushes_share_one_loop_and_one_redis_pool() -> None:
    layer = get_channel_layer()
    group = f"push-loop-{time.time_ns()}"
    channel = asyncio.run(_subscribe(layer, group))
    push.send_now([(group, {"type": "live.event", "n": 0})])
    loop, (loop_layer, client) = push.LOOP.loop(), _layer_state(layer)
    for n in range(1, 20):
        push.send_now([(group, {"type": "live.event", "n": n})])
    assert push.LOOP.loop() is loop
    assert _layer_state(layer) == (loop_layer, client)  # the same pool: no new connection per push
    assert [m["n"] for m in asyncio.run(_receive(layer, channel, 20))] == list(range(20))


def _child(group: str, parent_loop_id: int, result: Any) -> None:
    loop = push.LOOP.loop()
    push.send_now([(group, {"type": "live.event", "from": "child"})])
    result.put((id(loop) != parent_loop_id, loop.is_running()))


def test_a_forked_process_gets_a_loop_of_its_own() -> None:
    """A thread does not survive fork: the child must start its own loop, or its pushes would hang."""
    layer = get_channel_layer()
    group = f"push-fork-{time.time_ns()}"
    channel = asyncio.run(_subscribe(layer, group))
    parent_loop = push.LOOP.loop()
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    child = context.Process(target=_child, args=(group, id(parent_loop), result))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert result.get(timeout=5) == (True, True)
    assert asyncio.run(_receive(layer, channel, 1))[0]["from"] == "child"


def test_a_send_past_its_timeout_is_cancelled_and_reported() -> None:
    cancelled = threading.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="cancelled"):
        push.LOOP.run(stuck, timeout=0.3)
    assert time.monotonic() - started < 5
    wait_until(cancelled.is_set, timeout=5, message="the stuck send to be cancelled")
    push.send_now([("push-after-timeout", {"type": "live.event"})])  # the loop still serves later pushes


def test_refuses_to_block_a_running_event_loop() -> None:
    async def from_async_code() -> None:
        push.LOOP.run(asyncio.sleep, timeout=1)  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="sync code only"):
        asyncio.run(from_async_code())
