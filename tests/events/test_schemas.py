"""The event contract: schema files, the lock, compatibility rules, payload TypedDicts, envelope decoding."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

import pytest

from jobs.events import JobCancelledV1, JobCancelledV2
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


# --- payload TypedDicts against the schemas --------------------------------------------------


def test_every_event_version_has_a_typeddict_that_agrees_with_its_schema() -> None:
    assert schemas.payload_type_problems() == []


class _Trade(TypedDict):
    slug: str
    name: str


class _Good(TypedDict):
    job_id: int
    title: str
    note: NotRequired[str | None]
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _Trade


class _MissingKey(TypedDict):
    job_id: int
    title: str
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _Trade


class _ExtraKey(_Good):
    photos: NotRequired[list[str]]


class _OptionalRequired(TypedDict):
    job_id: NotRequired[int]
    title: str
    note: NotRequired[str | None]
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _Trade


class _RequiredOptional(TypedDict):
    job_id: int
    title: str
    note: str | None
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _Trade


class _WrongType(TypedDict):
    job_id: str
    title: str
    note: NotRequired[str | None]
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _Trade


class _NotNullable(TypedDict):
    job_id: int
    title: str
    note: NotRequired[str]
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _Trade


class _WrongEnum(TypedDict):
    job_id: int
    title: str
    note: NotRequired[str | None]
    stage: Literal["deposit", "refund"]
    tags: list[str]
    trade: _Trade


class _WrongItems(TypedDict):
    job_id: int
    title: str
    note: NotRequired[str | None]
    stage: Literal["deposit", "balance"]
    tags: list[int]
    trade: _Trade


class _NestedTrade(TypedDict):
    slug: str


class _WrongNested(TypedDict):
    job_id: int
    title: str
    note: NotRequired[str | None]
    stage: Literal["deposit", "balance"]
    tags: list[str]
    trade: _NestedTrade


PAYLOAD_SCHEMA = {
    "type": "object",
    "required": ["job_id", "title", "stage", "tags", "trade"],
    "properties": {
        "job_id": {"type": "integer"},
        "title": {"type": "string"},
        "note": {"type": ["string", "null"]},
        "stage": {"enum": ["deposit", "balance"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "trade": {"type": "object", "required": ["slug", "name"], "properties": {"slug": {"type": "string"}, "name": {"type": "string"}}},
    },
}


def test_the_checker_accepts_a_typeddict_equal_to_its_schema() -> None:
    assert schemas.payload_problems(_Good, PAYLOAD_SCHEMA) == []


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (_MissingKey, "key 'note' is in the schema but not in _MissingKey"),
        (_ExtraKey, "key 'photos' is in _ExtraKey but not in the schema"),
        (_OptionalRequired, "key 'job_id' is required in the schema, not in _OptionalRequired"),
        (_RequiredOptional, "key 'note' is optional in the schema, not in _RequiredOptional"),
        (_WrongType, "/job_id: the schema says ['integer']"),
        (_NotNullable, "/note: the schema says ['null', 'string']"),
        (_WrongEnum, "/stage: the schema's enum"),
        (_WrongItems, "/tags[]: the schema says ['string']"),
        (_WrongNested, "/trade: key 'name' is in the schema but not in _NestedTrade"),
    ],
)
def test_the_checker_catches_a_typeddict_that_differs_from_its_schema(shape: type, expected: str) -> None:
    problems = schemas.payload_problems(shape, PAYLOAD_SCHEMA)
    assert any(expected in p for p in problems), problems


def test_a_registered_typeddict_that_drifts_from_its_schema_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    job_expired = registered_event_types()["job.expired"]
    drifted = replace(job_expired, payloads={**job_expired.payloads, 1: _MissingKey})
    monkeypatch.setitem(schemas._REGISTRY, "job.expired", drifted)
    problems = schemas.payload_type_problems()
    assert any(p.startswith("job.expired v1 (_MissingKey): (root): key 'status' is in the schema") for p in problems), problems


def test_a_schema_version_without_a_typeddict_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    job_posted = registered_event_types()["job.posted"]
    monkeypatch.setitem(schemas._REGISTRY, "job.posted", replace(job_posted, payloads={2: job_posted.payloads[2]}))
    assert "job.posted v1: no TypedDict (register it with payload= or older_payloads=)" in schemas.payload_type_problems()


def test_a_handler_reads_a_typed_payload_or_a_view_that_fits_it() -> None:
    event = decode(json.dumps(_envelope()).encode())
    assert event.payload(JobCancelledV2)["reason"] == "" and event.payload(JobCancelledV1)["job_id"] == 7
    with pytest.raises(TypeError, match=r"_Good does not fit job\.cancelled"):
        event.payload(_Good)
