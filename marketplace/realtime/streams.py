"""Which live streams exist and who may subscribe to them.

A stream is a Channels group name such as ``job.42`` or ``user.7``.  Each app
registers an authorizer for its stream prefix; the websocket consumer asks
:func:`can_subscribe` before joining a group, so a browser only ever receives
what the API would show the same user.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from marketplace.accounts.models import User

Authorizer = Callable[[User, str], bool]

_STREAM_RE = re.compile(r"^(?P<prefix>[a-z_]+)\.(?P<ident>[A-Za-z0-9_-]{1,64})$")
_AUTHORIZERS: dict[str, Authorizer] = {}


def register(prefix: str, authorizer: Authorizer) -> None:
    _AUTHORIZERS[prefix] = authorizer


def user_stream(user_id: int) -> str:
    return f"user.{user_id}"


def can_subscribe(user: User, stream: str) -> bool:
    match = _STREAM_RE.match(stream)
    if not match or not user.is_authenticated:
        return False
    if match["prefix"] == "user":
        return match["ident"] == str(user.pk)
    authorizer = _AUTHORIZERS.get(match["prefix"])
    return authorizer is not None and authorizer(user, match["ident"])
