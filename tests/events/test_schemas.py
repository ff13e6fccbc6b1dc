"""The event contract: schema files, the lock, compatibility rules, envelope decoding."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketplace.events import schemas
from marketplace.events.envelope import InvalidMessage, decode
from marketplace.events.schemas import compatibility_problems, registered_event_types

BASE = {
    "type": "object",
    "required": ["job_id", "title"],
    "properties": {"job_id": {"type": "integer"}, "title": {"type": "string"}, "note": {"type": "string"}},
}


def evolve(**changes: object) -> dict[str, object]:
    new = json.loads(json.dumps(BASE))
    new.update(changes)
    return new


def test_repository_schemas_are_locked_and_compatible() -> None:
    assert schemas.check_schemas() == []


def test_every_registered_event_type_has_a_schema() -> None:
    types = registered_event_types()
    assert "job.posted" in types
    for name in types:
        assert schemas.available_versions(name), name


def test_adding_an_optional_property_is_compatible() -> None:
    new = evolve(properties={**BASE["properties"], "photos": {"type": "array", "items": {"type": "string"}}})  # type: ignore[dict-item]
    assert compatibility_problems(BASE, new) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (evolve(properties={"job_id": {"type": "integer"}, "note": {"type": "string"}}), "property 'title' was removed"),
        (evolve(required=["job_id", "title", "note"]), "property 'note' became required"),
        (evolve(required=["job_id"]), "property 'title' is no longer required"),
        (evolve(properties={**BASE["properties"], "job_id": {"type": "string"}}), "type changed"),  # type: ignore[dict-item]
        (evolve(properties={**BASE["properties"], "title": {"type": "string", "maxLength": 10}}), "maxLength tightened"),  # type: ignore[dict-item]
        (evolve(additionalProperties=False), "additionalProperties was closed"),
    ],
)
def test_breaking_changes_are_reported(change: dict[str, object], expected: str) -> None:
    problems = compatibility_problems(BASE, change)
    assert any(expected in p for p in problems), problems


def test_enum_changes_break_old_consumers() -> None:
    old = {"type": "string", "enum": ["open", "closed"]}
    assert compatibility_problems(old, {"type": "string", "enum": ["open", "closed", "expired"]})
    assert compatibility_problems(old, {"type": "string", "enum": ["open", "closed"]}) == []


@pytest.fixture
def schema_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the real schema directory (with its lock) that a test may change."""
    for path in schemas.SCHEMA_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path)
    monkeypatch.setattr(schemas, "LOCK_FILE", tmp_path / "lock.json")
    schemas._schema_files.cache_clear()
    schemas.load_schema.cache_clear()
    yield tmp_path
    schemas._schema_files.cache_clear()
    schemas.load_schema.cache_clear()


def test_editing_a_published_schema_fails_the_check(schema_copy: Path) -> None:
    tmp_path = schema_copy
    edited = json.loads((tmp_path / "job.posted.v1.json").read_text())
    edited["properties"]["title"]["maxLength"] = 60
    (tmp_path / "job.posted.v1.json").write_text(json.dumps(edited))
    problems = schemas.check_schemas()
    assert any("job.posted.v1.json was edited" in p for p in problems), problems


def test_a_breaking_new_version_fails_the_check(schema_copy: Path) -> None:
    tmp_path = schema_copy
    current = max(schemas.available_versions("job.posted"))
    nxt = json.loads((tmp_path / f"job.posted.v{current}.json").read_text())
    nxt["required"].append("photos")
    nxt["properties"]["photos"] = {"type": "array"}
    (tmp_path / f"job.posted.v{current + 1}.json").write_text(json.dumps(nxt))
    schemas._schema_files.cache_clear()  # a file appeared
    problems = schemas.check_schemas()
    expected = f"job.posted v{current} -> v{current + 1}: (root): property 'photos' became required"
    assert any(expected in p for p in problems), problems


def _envelope(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "job.cancelled",
        "schema_version": 1,
        "occurred_at": "2026-11-21T10:00:00Z",
        "aggregate_type": "job",
        "aggregate_id": "7",
        "sequence": 2,
        "actor_id": 1,
        "correlation_id": "c-1",
        "causation_id": None,
        "data": {"job_id": 7, "status": "cancelled", "reason": ""},
    }
    raw.update(overrides)
    return raw


def test_decode_accepts_a_valid_envelope() -> None:
    event = decode(json.dumps(_envelope()).encode())
    assert event.event_type == "job.cancelled" and event.sequence == 2 and event.data["job_id"] == 7


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\x00 not json", "not JSON"),
        (b"[1, 2]", "envelope"),
        (json.dumps(_envelope(event_type="job.exploded")).encode(), "Unknown event type"),
        (json.dumps(_envelope(data={"job_id": "seven", "status": "x", "reason": ""})).encode(), "job_id"),
        (json.dumps(_envelope(sequence=0)).encode(), "sequence"),
        (None, "tombstone"),
    ],
)
def test_decode_rejects_what_can_never_be_processed(value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        decode(value)


def test_an_event_newer_than_this_deployment_is_read_with_the_newest_known_schema() -> None:
    event = decode(
        json.dumps(_envelope(schema_version=5, data={"job_id": 7, "status": "cancelled", "reason": "", "new_field": 1})).encode()
    )
    assert event.data["new_field"] == 1
