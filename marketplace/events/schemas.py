"""Event types and their versioned JSON schemas: the public contract of every event.

Each event type has one schema file per version in ``marketplace/events/schemas/``
named ``<event type>.v<N>.json`` (for example ``job.posted.v1.json``).  A published
version is immutable: ``schemas/lock.json`` pins the hash of each file, and a test
fails when a version is edited in place or when a new version is not compatible
with the previous one (see :func:`compatibility_problems`).

Producers emit the newest version of a type; consumers accept every version that
exists on disk, so a consumer deployed before a producer keeps working.

Each version also has a ``TypedDict`` beside the type's registration in its app's
``events.py`` (``JobPostedV2``): :func:`emit` takes it, so mypy checks the keys an
emitter writes, and handlers read ``event.payload(JobPostedV2)``.  Nothing changes on
the wire (a TypedDict is a dict at run time); :func:`payload_problems` keeps each one
equal to its JSON schema, and the schema test runs it over every registered type.
"""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, Union, is_typeddict

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .topics import Topic

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
LOCK_FILE = SCHEMA_DIR / "lock.json"
_FILE_RE = re.compile(r"^(?P<type>[a-z][a-z0-9_.]*[a-z0-9])\.v(?P<version>[1-9][0-9]*)\.json$")


class SchemaViolation(ValueError):
    """An event does not match its declared schema (producing or consuming it is an error)."""


# The payload of an event type's newest version: a TypedDict (a Mapping to mypy, a dict at run time).
P = TypeVar("P", bound=Mapping[str, object])
# A TypedDict class: typing has no name for "any TypedDict type", so this is Any.
PayloadType = Any


@dataclass(frozen=True)
class EventType(Generic[P]):
    """A kind of event: its name, the topic it goes to, the aggregate that keys it, and its payloads.

    ``payloads`` maps each schema version to its TypedDict; the newest one is ``P``, what
    :func:`~marketplace.events.outbox.emit` takes for this type.
    """

    name: str
    topic: Topic
    aggregate_type: str
    description: str = ""
    payloads: Mapping[int, PayloadType] = field(default_factory=dict, compare=False, hash=False)

    @property
    def current_version(self) -> int:
        return max(available_versions(self.name))


_REGISTRY: dict[str, EventType[Any]] = {}


def register(
    name: str,
    *,
    topic: Topic,
    aggregate_type: str,
    description: str = "",
    payload: type[P],
    older_payloads: Mapping[int, PayloadType] | None = None,
) -> EventType[P]:
    """Declare an event type (called from each app's ``events.py``).

    ``payload`` is the TypedDict of the newest schema version, ``older_payloads`` those of the
    versions before it, by number; :func:`payload_problems` checks them against the files.
    """
    if not available_versions(name):
        raise LookupError(f"Event type {name!r} has no schema file in {SCHEMA_DIR} (expected {name}.v1.json).")
    payloads = {**(older_payloads or {}), max(available_versions(name)): payload}
    event_type: EventType[P] = EventType(name=name, topic=topic, aggregate_type=aggregate_type, description=description, payloads=payloads)
    existing = _REGISTRY.get(name)
    if existing is not None and existing != event_type:
        raise ValueError(f"Event type {name!r} is declared twice with different settings.")
    _REGISTRY[name] = event_type
    return event_type


def job_event(name: str, description: str, *, payload: type[P], older_payloads: Mapping[int, PayloadType] | None = None) -> EventType[P]:
    """Declare a step of a job: topic ``marketplace.jobs``, key = job id, so it is ordered with the job's other events."""
    return register(name, topic=Topic.JOBS, aggregate_type="job", description=description, payload=payload, older_payloads=older_payloads)


def get_event_type(name: str) -> EventType[Any]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"Unknown event type {name!r}.") from None


def registered_event_types() -> dict[str, EventType[Any]]:
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


# --- payload TypedDicts against the schemas ------------------------------------------------

_JSON_TYPES: dict[Any, str] = {int: "integer", str: "string", bool: "boolean", float: "number", type(None): "null"}


def payload_problems(shape: PayloadType, schema: dict[str, Any], path: str = "") -> list[str]:
    """How the TypedDict ``shape`` differs from the object ``schema``: keys, required keys, value types.

    Empty when they agree: the same properties, ``NotRequired`` exactly where the schema does
    not require a key, and each value's Python type allowing the same JSON types (``int`` for
    integer, ``float`` for number, ``X | None`` for ``[X, null]``, ``Literal`` for an enum,
    ``list[X]`` for an array, a nested TypedDict for an object with properties).
    """
    where = path or "(root)"
    if not is_typeddict(shape):
        return [f"{where}: {shape!r} is not a TypedDict"]
    hints = typing.get_type_hints(shape)
    properties: dict[str, Any] = schema.get("properties", {})
    problems = [f"{where}: key {key!r} is in the schema but not in {shape.__name__}" for key in sorted(properties.keys() - hints.keys())]
    problems += [f"{where}: key {key!r} is in {shape.__name__} but not in the schema" for key in sorted(hints.keys() - properties.keys())]
    required = set(schema.get("required", []))
    required_in_shape = required_keys(shape)
    for key in sorted(hints.keys() & properties.keys()):
        if (key in required) != (key in required_in_shape):
            problems.append(
                f"{where}: key {key!r} is {'required' if key in required else 'optional'} in the schema, not in {shape.__name__}"
            )
        problems += _value_problems(hints[key], properties[key], f"{path}/{key}")
    return problems


def required_keys(shape: PayloadType) -> frozenset[str]:
    """The keys a TypedDict requires.

    Read from the annotations, because Python 3.11 counts a ``NotRequired`` key as required in
    ``__required_keys__`` when the annotation is a string (``from __future__ import annotations``).
    """
    hints = typing.get_type_hints(shape, include_extras=True)
    return frozenset(
        key
        for key, hint in hints.items()
        if typing.get_origin(hint) is typing.Required
        or (typing.get_origin(hint) is not typing.NotRequired and key in shape.__required_keys__)
    )


def _value_problems(annotation: Any, schema: dict[str, Any], where: str) -> list[str]:
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    declared = schema.get("type")
    schema_types = set(declared) if isinstance(declared, list) else {declared} if declared else set()
    if "enum" in schema:
        literals = [value for option in options if typing.get_origin(option) is Literal for value in typing.get_args(option)]
        others = [option for option in options if typing.get_origin(option) is not Literal]
        if sorted(map(repr, literals)) != sorted(map(repr, schema["enum"])) or any(option is not type(None) for option in others):
            return [f"{where}: the schema's enum {schema['enum']} needs Literal of exactly those values, not {annotation!r}"]
        return []
    python_types: set[str] = set()
    problems: list[str] = []
    for option in options:
        origin = typing.get_origin(option)
        if option in _JSON_TYPES:
            python_types.add(_JSON_TYPES[option])
        elif origin is list:
            python_types.add("array")
            items = schema.get("items")
            if isinstance(items, dict):
                problems += _value_problems(typing.get_args(option)[0], items, f"{where}[]")
        elif is_typeddict(option):
            python_types.add("object")
            problems += payload_problems(option, schema, where)
        elif origin is dict and "properties" not in schema:
            python_types.add("object")
        else:
            return [f"{where}: {annotation!r} has no JSON schema type the checker knows (or the schema needs a TypedDict)"]
    if python_types != schema_types:
        problems.insert(0, f"{where}: the schema says {sorted(schema_types)}, the TypedDict {annotation!r}")
    return problems


def payload_type_problems() -> list[str]:
    """Every registered type has one TypedDict per schema version, each equal to its schema."""
    problems: list[str] = []
    for name, event_type in sorted(_REGISTRY.items()):
        versions = set(available_versions(name))
        for version in sorted(versions - event_type.payloads.keys()):
            problems.append(f"{name} v{version}: no TypedDict (register it with payload= or older_payloads=)")
        for version in sorted(event_type.payloads.keys() - versions):
            problems.append(f"{name} v{version}: a TypedDict for a version with no schema file")
        for version in sorted(versions & event_type.payloads.keys()):
            shape = event_type.payloads[version]
            problems += [f"{name} v{version} ({shape.__name__}): {p}" for p in payload_problems(shape, load_schema(name, version))]
    return problems
