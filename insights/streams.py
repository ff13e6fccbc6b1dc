"""Who may watch the insights dashboards live.

- ``insights.<user_id>``: a tradesperson's own numbers; that tradesperson only (and staff).
- ``insights.platform``: the platform-wide numbers; staff only.

Pushes carry no numbers (``insights.changed``), only the news that some changed; the page
refetches them through the API, which applies the same rules.
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

PLATFORM_STREAM = "insights.platform"


def pro_stream(user_id: int) -> str:
    return f"insights.{user_id}"


def _insights(user: User, ident: str) -> bool:
    if user.is_staff:
        return True
    return ident.isdigit() and int(ident) == user.pk and user.is_tradesperson


register("insights", _insights)
