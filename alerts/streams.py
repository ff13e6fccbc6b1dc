"""Who may watch the staff alerts inbox live.

- ``staff.alerts``: every new alert (``alert.raised``), pushed after the alert's transaction
  commits.  Active staff only; the inbox page (Django admin changelist) subscribes.
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

STAFF_ALERTS_STREAM = "staff.alerts"


def _staff(user: User, ident: str) -> bool:
    return ident == "alerts" and user.is_active and user.is_staff


register("staff", _staff)
