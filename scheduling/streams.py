"""Who may watch a business's calendar live.

- ``calendar.<owner_id>``: every appointment change of the business whose owner is
  ``owner_id`` (its week calendar and dispatch board): the owner, a worker of that
  business with a login, and staff.
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .models import Worker


def calendar_stream(owner_id: int) -> str:
    return f"calendar.{owner_id}"


def _calendar(user: User, ident: str) -> bool:
    if not ident.isdigit():
        return False
    owner_id = int(ident)
    return bool(user.is_staff or user.pk == owner_id or Worker.objects.filter(owner_id=owner_id, user=user, active=True).exists())


register("calendar", _calendar)
