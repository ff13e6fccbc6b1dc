"""The audit trail of an aggregate."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditLog


def audit_trail(*, aggregate_type: str, aggregate_id: str) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(aggregate_type=aggregate_type, aggregate_id=aggregate_id).order_by("sequence", "occurred_at")
