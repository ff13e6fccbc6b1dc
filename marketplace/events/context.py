"""Correlation and causation ids that follow one request through the whole pipeline.

The HTTP middleware sets a correlation id per request (or takes the caller's
``X-Request-ID``); the consumer runner sets it from each event it handles, so
events emitted by a handler carry the same correlation id and name the event
that caused them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)
_consumer: ContextVar[str] = ContextVar("consumer", default="")
# Where each event of the batch being applied came from: {event id: (topic, partition, offset)}.
_positions: ContextVar[Mapping[uuid.UUID, tuple[str, int, int]] | None] = ContextVar("positions", default=None)


def current_correlation_id() -> str:
    value = _correlation_id.get()
    return value if value else str(uuid.uuid4())


def current_causation_id() -> str | None:
    return _causation_id.get()


def peek_correlation_id() -> str | None:
    """The correlation id of the current context, or None (never makes one up; for logging)."""
    return _correlation_id.get() or None


def peek_causation_id() -> str | None:
    return _causation_id.get() or None


def current_consumer() -> str:
    """The consumer group whose handler is running ('' outside the consumer runner)."""
    return _consumer.get()


def message_position(event_id: uuid.UUID) -> tuple[str, int, int] | None:
    """(topic, partition, offset) of the Kafka message that delivered ``event_id`` to the running consumer
    (None outside the consumer runner, e.g. a replay from the outbox)."""
    positions = _positions.get()
    return positions.get(event_id) if positions is not None else None


@contextlib.contextmanager
def delivered(positions: Mapping[uuid.UUID, tuple[str, int, int]]) -> Iterator[None]:
    token = _positions.set(positions)
    try:
        yield
    finally:
        _positions.reset(token)


@contextlib.contextmanager
def consuming(consumer_name: str) -> Iterator[None]:
    token = _consumer.set(consumer_name)
    try:
        yield
    finally:
        _consumer.reset(token)


@contextlib.contextmanager
def correlation(correlation_id: str | None, causation_id: str | None = None) -> Iterator[None]:
    token_c = _correlation_id.set(correlation_id)
    token_k = _causation_id.set(causation_id)
    try:
        yield
    finally:
        _correlation_id.reset(token_c)
        _causation_id.reset(token_k)
