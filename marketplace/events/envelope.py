"""The event envelope: what every message on every topic looks like.

The envelope is JSON with a fixed set of fields (validated against
``schemas/envelope.v1.json``); the ``data`` member is validated against the
event type's own versioned schema.  :func:`decode` is the only way a consumer
turns Kafka bytes into an :class:`Envelope`; it raises :class:`InvalidMessage`
for anything that can never be processed, which the consumer runner dead-letters.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from jsonschema import Draft202012Validator

from .schemas import SCHEMA_DIR, SchemaViolation, get_event_type, validate_data


class InvalidMessage(Exception):
    """A message that can never be processed: malformed, unknown type or schema violation."""


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


def normalise_data(data: dict[str, Any]) -> dict[str, Any]:
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


def validate_envelope_dict(raw: Any) -> None:
    for error in _envelope_validator().iter_errors(raw):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise SchemaViolation(f"envelope: {where}: {error.message}")


def from_dict(raw: Any) -> Envelope:
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
    )


def decode(value: bytes | None) -> Envelope:
    """Parse and validate a Kafka message value; raise :class:`InvalidMessage` if it can't be."""
    if value is None:
        raise InvalidMessage("empty message value (tombstone) on a topic that carries events")
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMessage(f"message value is not JSON: {exc}") from exc
    return from_dict(raw)
