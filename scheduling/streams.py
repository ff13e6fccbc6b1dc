"""Who may watch a business's calendar live.

- ``calendar.<owner_id>``: every appointment change of the business whose owner is
  ``owner_id`` (its week calendar and dispatch board): whoever may run that board
  (``scheduling.team.dispatch_business``: the owner, its dispatchers) and staff.
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .team import dispatch_business


def calendar_stream(owner_id: int) -> str:
    return f"calendar.{owner_id}"


def _calendar(user: User, ident: str) -> bool:
    if not ident.isdigit():
        return False
    owner_id = int(ident)
    if user.is_staff or user.pk == owner_id:
        return True
    business = dispatch_business(user)
    return business is not None and business.pk == owner_id


register("calendar", _calendar)
