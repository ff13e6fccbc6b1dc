"""Scrubbing copies of a person's data out of JSON (event payloads kept in the outbox and the audit log)."""

from __future__ import annotations

import json
from typing import Any

from .registry import REMOVED, Erasure


def scrub_json(value: Any, erasure: Erasure) -> Any:
    """``value`` with every string that contains an identifying string, or is one of the person's texts, replaced."""
    if isinstance(value, dict):
        return {k: scrub_json(v, erasure) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, erasure) for v in value]
    if isinstance(value, str) and _identifies(value, erasure):
        return REMOVED
    return value


def _identifies(value: str, erasure: Erasure) -> bool:
    if value in erasure.texts:
        return True
    lowered = value.lower()
    return any(needle.lower() in lowered for needle in erasure.needles)


def like_patterns(erasure: Erasure) -> list[str]:
    """ILIKE patterns that find a JSON document holding any of the erasure's strings (as JSON text writes them)."""
    return [f"%{_like_escape(json.dumps(s, ensure_ascii=False)[1:-1])}%" for s in sorted(erasure.needles | erasure.texts)]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
