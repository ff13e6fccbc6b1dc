"""The two writes the audit log allows after its insert (migration 0004): redaction and the retention purge.

Both must run inside a transaction (the session settings that open the trigger are ``SET LOCAL``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from .models import AuditLog


def audit_redact(*, patterns: list[str], scrub: Callable[[Any], Any]) -> int:
    """Rewrite the payload of each row whose JSON text matches one of ``patterns`` (ILIKE) with ``scrub(payload)``.

    Only the payload changes (the trigger checks it): the event id, type, aggregate, actor id (a pseudonymous
    id once the account is erased) and times stay, which is what a dispute or a tax record needs.
    Returns how many rows changed.  Needs the caller's transaction.
    """
    if not patterns:
        return 0
    changed = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL tradelink.audit_redaction = 'on'")
            cursor.execute("SELECT id FROM audit_auditlog WHERE payload::text ILIKE ANY(%s)", [patterns])
            ids = [row[0] for row in cursor.fetchall()]
        for row in AuditLog.objects.filter(id__in=ids).only("id", "payload"):
            payload = scrub(row.payload)
            if payload != row.payload:
                AuditLog.objects.filter(id=row.id).update(payload=payload)
                changed += 1
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL tradelink.audit_redaction = 'off'")
    return changed


def audit_purge(*, before: datetime, batch: int) -> int:
    """Delete audit rows that occurred before ``before``, ``batch`` rows per transaction; returns how many."""
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('tradelink.audit_purge_before', %s, true)", [before.isoformat()])
            cursor.execute(
                "DELETE FROM audit_auditlog WHERE id IN (SELECT id FROM audit_auditlog WHERE occurred_at < %s ORDER BY id LIMIT %s)",
                [before, batch],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch:
            return total
