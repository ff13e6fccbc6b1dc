"""Who may watch a chat thread live.

- ``chat.<thread_id>``: new messages (``chat.message_sent``) and read receipts (``chat.read``) of one
  thread; only its participants (``chat.selectors.participant_side``: the job's customer, that
  tradesperson, and the login of the worker booked on the job for that business).  Nobody else,
  not even staff: a refused subscription is never joined, so nothing is ever broadcast to them.
"""

from __future__ import annotations

from marketplace.accounts.models import User
from marketplace.realtime.streams import register

from .models import Thread
from .selectors import participant_side


def chat_stream(thread_id: int) -> str:
    return f"chat.{thread_id}"


def _chat(user: User, ident: str) -> bool:
    if not ident.isdigit():
        return False
    thread = Thread.objects.select_related("job").filter(pk=int(ident)).first()
    return thread is not None and participant_side(user, thread) is not None


register("chat", _chat)
