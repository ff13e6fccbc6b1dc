"""Who may watch a tradesperson's public profile live.

- ``pro.<user_id>``: rating summary changes and new reviews/replies of that tradesperson
  (``rating.updated``, ``review.replied``).  The profile is public, so any signed-in user may
  subscribe; the pushes carry only what the public profile shows (never a hidden review's text).
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register


def pro_stream(user_id: int) -> str:
    return f"pro.{user_id}"


def _pro(user: User, ident: str) -> bool:
    return ident.isdigit() and bool(user.is_authenticated)


register("pro", _pro)
