"""Dashboard pushes are throttled per stream: a burst becomes one push now and one trailing push (real Redis channel layer)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import override_settings

from insights.projections import _Pushes


async def _drain(layer: Any, channel: str, seconds: float) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(await asyncio.wait_for(layer.receive(channel), timeout=left))
        except TimeoutError:
            break
    return got


@override_settings(INSIGHTS={"ON_TIME_GRACE_MINUTES": 5, "PUSH_MIN_INTERVAL_S": 0.5})
def test_a_burst_of_changes_is_one_push_now_and_one_trailing_push() -> None:
    layer = get_channel_layer()
    assert layer is not None
    stream = f"insights.{int(time.time() * 1000) % 10**9}"
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(stream, channel)
    try:
        for _ in range(50):
            _Pushes.send(stream)
        messages = async_to_sync(_drain)(layer, channel, 1.5)
    finally:
        async_to_sync(layer.group_discard)(stream, channel)
    assert [m["event"] for m in messages] == ["insights.changed", "insights.changed"]
    assert {m["stream"] for m in messages} == {stream}


pytestmark = pytest.mark.django_db


@override_settings(INSIGHTS={"ON_TIME_GRACE_MINUTES": 5, "PUSH_MIN_INTERVAL_S": 0.5})
def test_one_change_seen_by_several_dashboards_pushes_to_each_of_them() -> None:
    layer = get_channel_layer()
    assert layer is not None
    base = int(time.time() * 1000) % 10**9
    streams = [f"insights.{base + 1}", "insights.platform-test", f"insights.{base + 2}"]
    channels = {stream: async_to_sync(layer.new_channel)() for stream in streams}
    for stream, channel in channels.items():
        async_to_sync(layer.group_add)(stream, channel)
    try:
        _Pushes.send(*streams)  # a lead offered: the platform's and the tradesperson's numbers changed
        _Pushes.send(streams[0])  # within the interval: trails
        got = {stream: async_to_sync(_drain)(layer, channel, 1.0) for stream, channel in channels.items()}
    finally:
        for stream, channel in channels.items():
            async_to_sync(layer.group_discard)(stream, channel)
    assert {stream: len(messages) for stream, messages in got.items()} == {streams[0]: 2, streams[1]: 1, streams[2]: 1}
    assert all(m["stream"] == stream for stream, messages in got.items() for m in messages)
