"""Fault: Redis restarts under a live channel layer.

The channel layer keeps a pool of connections per event loop.  After Redis comes back, a pooled
connection still looks open until the event loop notices the reset, so the first command on it
failed with "Connection closed by server": in Daphne that was a websocket handshake (``group_add``)
failing, the socket closing and the browser backing off up to 10 s more before trying again
(tests/browser/test_redis_restart.py, slowest under load).  The layer is configured to retry such a
command on a fresh connection (settings.CHANNEL_LAYERS); this test runs the layer exactly as
configured against a Redis of its own, restarts it, and requires the very first command to work.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from tests.support import PrivateRedis

pytestmark = pytest.mark.slow


def layer_on(server: PrivateRedis, **overrides: Any) -> RedisChannelLayer:
    config = dict(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    host = {**config.pop("hosts")[0], "address": server.url, **overrides}
    host = {key: value for key, value in host.items() if value is not None}
    return RedisChannelLayer(hosts=[host], **config)


async def restart_then_subscribe(layer: RedisChannelLayer, server: PrivateRedis) -> list[str]:
    """Subscribe and push once (the pool now holds connections), restart Redis, subscribe again
    and push: the errors the first commands after the restart raised, in order."""
    channel = await layer.new_channel()
    await layer.group_add("jobs", channel)
    await layer.group_send("jobs", {"type": "live.event", "n": 1})
    assert (await layer.receive(channel))["n"] == 1
    server.kill()
    server.start()
    errors: list[str] = []
    for _ in range(2):
        try:
            await layer.group_add("jobs", channel)
            await layer.group_send("jobs", {"type": "live.event", "n": 2})
            assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 2
            break
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    await layer.flush()
    return errors


def test_the_first_subscription_after_a_redis_restart_succeeds(private_redis: PrivateRedis) -> None:
    assert asyncio.run(restart_then_subscribe(layer_on(private_redis), private_redis)) == []


def test_without_the_retry_the_first_command_after_a_restart_fails(private_redis: PrivateRedis) -> None:
    """The control: the same layer without the retry settings meets the stale connection, so the test
    above checks the configuration that fixes it, not a Redis that never leaves stale connections."""
    errors = asyncio.run(restart_then_subscribe(layer_on(private_redis, retry=None, retry_on_error=None), private_redis))
    assert len(errors) == 1 and "Connection closed by server" in errors[0], errors
