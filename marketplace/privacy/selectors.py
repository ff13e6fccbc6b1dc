"""A person's data, gathered for their download (UK GDPR article 15 and 20): :func:`user_export`."""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.audit.models import AuditLog

from .registry import PERSONAL_DATA


class ExportEncoder(DjangoJSONEncoder):
    """Decimals as strings (money keeps its pence), times as ISO 8601 UTC."""


def user_export(*, user: User) -> dict[str, Any]:
    """Everything TradeLink holds about ``user``, by section ("<app>.<what>"), JSON-able with :class:`ExportEncoder`.

    Read-only.  Read models are left out: they are copies of what the sections hold.  The events the person
    caused are listed by type and time (the audit log's record of their actions).
    """
    sections = {name: part.export(user) for name, part in PERSONAL_DATA.items() if part.export}
    sections["audit.events_caused"] = [
        {"event_type": event_type, "occurred_at": occurred_at}
        for event_type, occurred_at in AuditLog.objects.filter(actor_id=user.pk)
        .order_by("occurred_at")
        .values_list("event_type", "occurred_at")
    ]
    return {"exported_at": timezone.now(), "user_id": user.pk, "format": "tradelink-export-1", "data": sections}
