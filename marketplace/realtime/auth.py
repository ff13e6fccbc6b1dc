"""Who a websocket is: an API token (native apps and scripts) or the browser's session cookie.

- A token comes in the ``Authorization`` header (``Bearer <token>`` or ``Token <token>``; native clients
  and libraries can set it, browsers cannot) or as a subprotocol ``token.<token>`` offered next to
  ``tradelink.live`` (``new WebSocket(url, ["tradelink.live", "token." + token])``: the one way a browser
  script can send it). The server answers with ``tradelink.live``, never echoing the token.
- A token socket skips the Origin check: it carries no ambient credential a foreign page could borrow.
  A socket without a token is a browser's: ``AllowedHostsOriginValidator`` refuses foreign origins, then
  Channels reads the session cookie, as before.
- A token that is unknown, revoked or expired (or whose user is disabled) is accepted and closed at once
  with 4401, so an app can tell "sign in again" from a network failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from marketplace.accounts.authentication import SCHEMES, user_for_token

SUBPROTOCOL = "tradelink.live"
TOKEN_SUBPROTOCOL_PREFIX = "token."  # noqa: S105 - a protocol name, not a secret


@dataclass(frozen=True)
class SocketToken:
    """The API token a socket was opened with (``scope["api_token"]``)."""

    uid: UUID
    expiry: datetime | None


def token_from(scope: dict[str, Any]) -> str | None:
    """The API token the handshake carries, from the Authorization header or a ``token.`` subprotocol, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            parts = value.split()
            if parts and parts[0].lower() in SCHEMES:
                return str(parts[1].decode("latin-1")) if len(parts) == 2 else ""  # "" is refused
            # Another scheme (Basic, from a proxy in front of a staging site): a browser's; the session decides.
    for protocol in scope.get("subprotocols", ()):
        if protocol.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return str(protocol[len(TOKEN_SUBPROTOCOL_PREFIX) :])
    return None


class TokenOrSessionAuthMiddleware:
    """Routes a handshake with a token to token authentication, and every other one to Origin check + session."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.browser = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw = token_from(scope)
        if raw is None:
            return await self.browser(scope, receive, send)
        found = await database_sync_to_async(user_for_token)(raw) if raw else None
        scope = dict(scope)
        if SUBPROTOCOL in scope.get("subprotocols", ()):
            scope["accept_subprotocol"] = SUBPROTOCOL
        if found is None:
            scope.update(user=AnonymousUser(), api_token_refused=True)
        else:
            user, token = found
            scope.update(user=user, api_token=SocketToken(uid=token.uid, expiry=token.expiry))
        return await self.inner(scope, receive, send)
