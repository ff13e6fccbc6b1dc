"""Who may watch a chat thread live.

- ``chat.<thread_id>``: new messages (``chat.message_sent``) and read receipts (``chat.read``) of one
  thread; only its two participants (the job's customer and that tradesperson).  Nobody else, not
  even staff: a refused subscription is never joined, so nothing is ever broadcast to them.
"""

from __future__ import annotations

from django.db.models import Q

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .models import Thread


def chat_stream(thread_id: int) -> str:
    return f"chat.{thread_id}"


def _chat(user: User, ident: str) -> bool:
    if not ident.isdigit():
        return False
    return Thread.objects.filter(Q(customer_id=user.pk) | Q(tradesperson_id=user.pk), pk=int(ident)).exists()


register("chat", _chat)
