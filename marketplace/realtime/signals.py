"""Logging out closes every live socket opened with that session, and revoking an API token every socket opened with it
(they would otherwise keep receiving pushes)."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from marketplace.accounts.signals import api_tokens_revoked

from .consumers import session_group, token_group

log = logging.getLogger(__name__)


@receiver(user_logged_out)
def close_sockets_of_the_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if not session_key or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": "session.end"})
    except Exception:  # logging out must work even if Redis is away; those sockets then end with the session's expiry
        log.warning("could not close the live sockets of a session that logged out", exc_info=True)


@receiver(api_tokens_revoked)
def close_sockets_of_revoked_tokens(sender: Any, uids: list[UUID], **kwargs: Any) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for uid in uids:
            async_to_sync(layer.group_send)(token_group(uid), {"type": "session.end"})
    except Exception:  # revoking must work even if Redis is away; those sockets then end at their token's expiry
        log.warning("could not close the live sockets of revoked API tokens", exc_info=True)
