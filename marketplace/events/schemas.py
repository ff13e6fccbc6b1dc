"""Event types and their versioned JSON schemas: the public contract of every event.

Each event type has one schema file per version in ``marketplace/events/schemas/``
named ``<event type>.v<N>.json`` (for example ``job.posted.v1.json``).  A published
version is immutable: ``schemas/lock.json`` pins the hash of each file, and a test
fails when a version is edited in place or when a new version is not compatible
with the previous one (see :func:`compatibility_problems`).

Producers emit the newest version of a type; consumers accept every version that
exists on disk, so a consumer deployed before a producer keeps working.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .topics import Topic

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
LOCK_FILE = SCHEMA_DIR / "lock.json"
_FILE_RE = re.compile(r"^(?P<type>[a-z][a-z0-9_.]*[a-z0-9])\.v(?P<version>[1-9][0-9]*)\.json$")


class SchemaViolation(ValueError):
    """An event does not match its declared schema (producing or consuming it is an error)."""


@dataclass(frozen=True)
class EventType:
    """A kind of event: its name, the topic it goes to and the aggregate that keys it."""

    name: str
    topic: Topic
    aggregate_type: str
    description: str = ""
    versions: tuple[int, ...] = field(default=(), compare=False)

    @property
    def current_version(self) -> int:
        return max(available_versions(self.name))


_REGISTRY: dict[str, EventType] = {}


def register(name: str, *, topic: Topic, aggregate_type: str, description: str = "") -> EventType:
    """Declare an event type (called from each app's ``events.py``)."""
    if not available_versions(name):
        raise LookupError(f"Event type {name!r} has no schema file in {SCHEMA_DIR} (expected {name}.v1.json).")
    event_type = EventType(name=name, topic=topic, aggregate_type=aggregate_type, description=description)
    existing = _REGISTRY.get(name)
    if existing is not None and existing != event_type:
        raise ValueError(f"Event type {name!r} is declared twice with different settings.")
    _REGISTRY[name] = event_type
    return event_type


def get_event_type(name: str) -> EventType:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"Unknown event type {name!r}.") from None


def registered_event_types() -> dict[str, EventType]:
    return dict(_REGISTRY)


@cache
def _schema_files() -> dict[tuple[str, int], Path]:
    files: dict[tuple[str, int], Path] = {}
    for path in SCHEMA_DIR.glob("*.json"):
        match = _FILE_RE.match(path.name)
        if match:
            files[(match["type"], int(match["version"]))] = path
    return files


def available_versions(name: str) -> list[int]:
    return sorted(version for (type_name, version) in _schema_files() if type_name == name)


def all_schema_files() -> dict[tuple[str, int], Path]:
    return dict(_schema_files())


@cache
def load_schema(name: str, version: int) -> dict[str, Any]:
    path = _schema_files().get((name, version))
    if path is None:
        raise LookupError(f"No schema for event type {name!r} version {version}.")
    schema: dict[str, Any] = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(name: str, version: int) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name, version))


def fast_validator(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A compiled (Rust) validator for the yes/no check on the hot path, ~100x the pure-Python one.

    ``format`` is an annotation only, as in the Python validator without a format checker.
    The Python validator still writes the error message when this one says no, so
    messages (and what counts as an error) stay the reference implementation's.
    """
    return jsonschema_rs.validator_for(schema, validate_formats=False)


@cache
def _fast_validator(name: str, version: int) -> jsonschema_rs.Validator:
    return fast_validator(load_schema(name, version))


def validate_data(name: str, version: int, data: Any) -> None:
    """Raise :class:`SchemaViolation` unless ``data`` matches the schema of that version.

    An event newer than any version this deployment knows is checked against the
    newest known version: compatibility between versions guarantees it still fits.
    """
    known = [v for v in available_versions(name) if v <= version]
    if not known:
        raise SchemaViolation(f"No schema for event type {name!r} version {version}.")
    newest = max(known)
    if _fast_validator(name, newest).is_valid(data):
        return
    error = _first_error(_validator(name, newest), data)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise SchemaViolation(f"{name} v{version}: {where}: {error.message}")


def _first_error(validator: Draft202012Validator, data: Any) -> ValidationError | None:
    for error in validator.iter_errors(data):
        return error
    return None


def schema_hash(path: Path) -> str:
    # Canonical JSON, so whitespace and key order do not count as a change.
    canonical = json.dumps(json.loads(path.read_text()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- compatibility -----------------------------------------------------------------


def compatibility_problems(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """What in ``new`` would break a consumer written against ``old`` (or vice versa).

    The rule is FULL compatibility for JSON objects: consumers on either version
    must read events written with the other.  So a new version may add optional
    properties and widen nothing else.  It may not remove or rename a property,
    change a type, make an optional property required, add a required property,
    drop enum values or add them (an old consumer would not know the new value),
    or tighten ``additionalProperties``.
    """
    problems: list[str] = []
    where = path or "(root)"
    old_type, new_type = old.get("type"), new.get("type")
    if old_type != new_type:
        problems.append(f"{where}: type changed from {old_type!r} to {new_type!r}")
        return problems
    if ("enum" in old or "enum" in new) and sorted(map(json.dumps, old.get("enum", []))) != sorted(map(json.dumps, new.get("enum", []))):
        problems.append(f"{where}: enum values changed from {old.get('enum')} to {new.get('enum')}")
    for keyword in ("format", "pattern", "const"):
        if old.get(keyword) != new.get(keyword):
            problems.append(f"{where}: {keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}")
    for keyword in ("minimum", "minLength", "minItems"):
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{where}: {keyword} tightened to {new[keyword]!r}")
    for keyword in ("maximum", "maxLength", "maxItems"):
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{where}: {keyword} tightened to {new[keyword]!r}")

    if old_type == "object" or "properties" in old:
        old_props: dict[str, Any] = old.get("properties", {})
        new_props: dict[str, Any] = new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in sorted(old_props.keys() - new_props.keys()):
            problems.append(f"{where}: property {name!r} was removed")
        for name in sorted(new_required - old_required):
            problems.append(f"{where}: property {name!r} became required")
        for name in sorted(old_required - new_required):
            problems.append(f"{where}: property {name!r} is no longer required")
        if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
            problems.append(f"{where}: additionalProperties was closed")
        for name in sorted(old_props.keys() & new_props.keys()):
            problems.extend(compatibility_problems(old_props[name], new_props[name], f"{path}/{name}"))
    if old_type == "array" and isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        problems.extend(compatibility_problems(old["items"], new["items"], f"{path}[]"))
    return problems


def check_schemas() -> list[str]:
    """Every problem with the schema set: edited published versions, incompatible new versions."""
    lock: dict[str, str] = json.loads(LOCK_FILE.read_text()) if LOCK_FILE.exists() else {}
    problems: list[str] = []
    files = all_schema_files()
    for (name, version), path in sorted(files.items()):
        locked = lock.get(f"{name}.v{version}")
        if locked is not None and locked != schema_hash(path):
            problems.append(f"{path.name} was edited after it was published; add {name}.v{version + 1}.json instead")
        if version > 1 and (name, version - 1) in files:
            for problem in compatibility_problems(load_schema(name, version - 1), load_schema(name, version)):
                problems.append(f"{name} v{version - 1} -> v{version}: {problem}")
    for entry in lock:
        type_name, _, locked_version = entry.rpartition(".v")
        if int(locked_version) not in available_versions(type_name):
            problems.append(f"{entry} is published (in lock.json) but its file was deleted")
    return problems
