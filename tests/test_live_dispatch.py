"""A live push reaches the socket without a thread hop (marketplace/realtime/consumers.py: LiveConsumer.dispatch)."""

from __future__ import annotations

import asyncio
from typing import Any

import channels.consumer
import pytest

from marketplace.realtime.consumers import LiveConsumer


def test_a_push_is_dispatched_on_the_event_loop_without_closing_connections_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    async def thread_hop() -> None:
        raise AssertionError("aclose_old_connections ran: a thread pool round trip per pushed message")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", thread_hop)
    sent: list[dict[str, Any]] = []

    async def base_send(message: dict[str, Any]) -> None:
        sent.append(message)

    consumer = LiveConsumer()
    consumer.base_send = base_send
    consumer.token_expiry = None
    push = {"type": "live.event", "stream": "user.7", "event": "lead.offered", "seq": 3, "data": {"job_id": 9}}
    asyncio.run(consumer.dispatch(push))
    assert len(sent) == 1 and sent[0]["type"] == "websocket.send"
    assert '"event": "lead.offered"' in sent[0]["text"] and '"type": "event"' in sent[0]["text"]
    with pytest.raises(ValueError, match="No handler"):
        asyncio.run(consumer.dispatch({"type": "no.such"}))
