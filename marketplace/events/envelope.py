"""The event envelope: what every message on every topic looks like.

The envelope is JSON with a fixed set of fields (validated against
``schemas/envelope.v1.json``); the ``data`` member is validated against the
event type's own versioned schema.  :func:`decode` is the only way a consumer
turns Kafka bytes into an :class:`Envelope`; it raises :class:`InvalidMessage`
for anything that can never be processed, which the consumer runner dead-letters.

Tombstones (compacted topics): a message whose value is null but that carries the
event's envelope JSON in an ``envelope`` header (what the relay produces for
:func:`~marketplace.events.outbox.emit_tombstone`) decodes to an ordinary
:class:`Envelope` with ``tombstone=True``.  A null value *without* that header (a
foreign producer's bare tombstone) raises :class:`BareTombstone`, a subclass of
:class:`InvalidMessage` that names the topic and key; the consumer runner and replay
treat it specially (an optional handler hook, otherwise skipped), never as poison.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol, cast

from django.core.serializers.json import DjangoJSONEncoder
from jsonschema import Draft202012Validator

from .schemas import SCHEMA_DIR, P, PayloadType, SchemaViolation, fast_validator, get_event_type, required_keys, validate_data

# The header that carries a tombstone's envelope JSON (its value is null).
ENVELOPE_HEADER = "envelope"

HeaderValue = str | bytes | None
Headers = Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue]


class InvalidMessage(Exception):
    """A message that can never be processed: malformed, unknown type or schema violation."""


class BareTombstone(InvalidMessage):
    """A null-valued message without an ``envelope`` header: a tombstone, but not one of our events.

    Not poison: the runner hands it to the handler's optional ``on_bare_tombstone(topic,
    key)`` hook, or skips it.  ``key`` is the message key as text (None if it had none).
    """

    def __init__(self, topic: str = "", key: str | None = None) -> None:
        where = f" on {topic} key {key!r}" if topic else ""
        super().__init__(f"tombstone (null value) without an {ENVELOPE_HEADER!r} header{where}: not an event")
        self.topic = topic
        self.key = key


class KafkaMessage(Protocol):
    """The parts of ``confluent_kafka.Message`` that decoding needs."""

    def value(self) -> bytes | None: ...
    def headers(self) -> Any: ...
    def topic(self) -> str | None: ...
    def key(self) -> bytes | None: ...


@dataclass(frozen=True)
class Envelope:
    event_id: uuid.UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    aggregate_type: str
    aggregate_id: str
    sequence: int
    actor_id: int | None
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]
    # Published as a Kafka tombstone (null value, this envelope in the headers).  Not
    # part of the envelope JSON: the same event reads the same from either form.
    tombstone: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "sequence": self.sequence,
            "actor_id": self.actor_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "data": self.data,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @property
    def key(self) -> bytes:
        return self.aggregate_id.encode()

    def payload(self, shape: type[P]) -> P:
        """``data`` as the TypedDict ``shape``: the newest version's, or a view of keys it shares.

        No copy and no check of the values: they were validated against the event's schema
        when it was emitted or decoded, and every version's data fits the newest TypedDict
        (newer versions only add optional keys).  Raises TypeError if ``shape`` does not fit
        this event type (a key it lacks, or a key it may omit that ``shape`` requires): a bug
        in the handler, not in the event.
        """
        _check_shape(self.event_type, shape)
        return cast(P, self.data)


@cache
def _check_shape(event_type: str, shape: PayloadType) -> None:
    newest = get_event_type(event_type).payloads.get(get_event_type(event_type).current_version)
    if newest is None or shape is newest:
        return
    if not set(shape.__annotations__) <= set(newest.__annotations__) or not required_keys(shape) <= required_keys(newest):
        raise TypeError(f"{shape.__name__} does not fit {event_type} (its payload is {newest.__name__})")


def normalise_data(data: Mapping[str, object]) -> dict[str, Any]:
    """JSON round trip with Django's encoder (Decimal, datetime, UUID become strings).

    Done where an event is made, so a payload that cannot be serialised fails at
    the call site rather than in the relay.
    """
    result: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return result


@cache
def _envelope_validator() -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / "envelope.v1.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _envelope_fast_validator() -> Any:
    return fast_validator(json.loads((SCHEMA_DIR / "envelope.v1.json").read_text()))


def validate_envelope_dict(raw: Any) -> None:
    if _envelope_fast_validator().is_valid(raw):
        return
    for error in _envelope_validator().iter_errors(raw):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise SchemaViolation(f"envelope: {where}: {error.message}")


def from_dict(raw: Any, *, tombstone: bool = False) -> Envelope:
    """Validate a decoded envelope (shape, known type, data schema) and build it."""
    try:
        validate_envelope_dict(raw)
        get_event_type(raw["event_type"])
        validate_data(raw["event_type"], raw["schema_version"], raw["data"])
    except (SchemaViolation, LookupError) as exc:
        raise InvalidMessage(str(exc)) from exc
    return Envelope(
        event_id=uuid.UUID(raw["event_id"]),
        event_type=raw["event_type"],
        schema_version=raw["schema_version"],
        occurred_at=datetime.fromisoformat(raw["occurred_at"]),
        aggregate_type=raw["aggregate_type"],
        aggregate_id=raw["aggregate_id"],
        sequence=raw["sequence"],
        actor_id=raw.get("actor_id"),
        correlation_id=raw["correlation_id"],
        causation_id=raw.get("causation_id"),
        data=raw["data"],
        tombstone=tombstone,
    )


def header(headers: Headers | None, name: str) -> HeaderValue:
    """The first value of header ``name`` (None if absent); takes Kafka's list or a dict."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key == name:
            return value
    return None


def decode(value: bytes | None, headers: Headers | None = None) -> Envelope:
    """Parse and validate a Kafka message; raise :class:`InvalidMessage` if it can't be.

    A null ``value`` is a tombstone: its envelope is read from the ``envelope`` header
    (``tombstone=True`` on the result), or :class:`BareTombstone` is raised without one.
    """
    if value is None:
        raw_envelope = header(headers, ENVELOPE_HEADER)
        if raw_envelope is None:
            raise BareTombstone()
        try:
            raw = json.loads(raw_envelope)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidMessage(f"tombstone's {ENVELOPE_HEADER!r} header is not JSON: {exc}") from exc
        return from_dict(raw, tombstone=True)
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMessage(f"message value is not JSON: {exc}") from exc
    return from_dict(raw)


def decode_message(message: KafkaMessage) -> Envelope:
    """:func:`decode` a consumed message; a :class:`BareTombstone` names its topic and key."""
    try:
        return decode(message.value(), message.headers())
    except BareTombstone:
        key = message.key()
        raise BareTombstone(message.topic() or "", key.decode(errors="replace") if key is not None else None) from None
