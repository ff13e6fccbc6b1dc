"""Signals the accounts package sends for the core apps that react (realtime closes sockets)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after the revoking transaction commits, with ``uids``: the ``ApiToken.uid`` of each token revoked.
api_tokens_revoked = Signal()
