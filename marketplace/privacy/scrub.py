"""Scrubbing copies of a person's data out of JSON (event payloads kept in the outbox and the audit log)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.db.models import Q, QuerySet

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


def scrub_text(text: str, erasure: Erasure) -> str:
    """``text`` with every identifying string in it (any case) replaced by "[removed]"; the rest of it stays."""
    for needle in sorted(erasure.needles, key=len, reverse=True):  # the full name before a shorter username inside it
        text = re.sub(re.escape(needle), REMOVED, text, flags=re.IGNORECASE)
    return text


def scrub_rows(queryset: QuerySet[Any], fields: list[str], erasure: Erasure) -> int:
    """Scrub identifying strings out of ``fields`` of the rows of ``queryset`` that hold one (other people's words
    about the person: a message "Thanks Ada", a notification "New message from Ada").  Returns rows changed."""
    if not erasure.needles:
        return 0
    holds = Q()
    for field in fields:
        for needle in erasure.needles:
            holds |= Q(**{f"{field}__icontains": needle})
    changed = 0
    for row in queryset.filter(holds):
        for field in fields:
            setattr(row, field, scrub_text(getattr(row, field), erasure))
        row.save(update_fields=fields)
        changed += 1
    return changed
