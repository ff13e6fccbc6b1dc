"""What the chat app holds about a person (registered with marketplace.privacy): the messages they sent."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import Message


def _export(user: User) -> list[dict[str, Any]]:
    return list(Message.objects.filter(sender=user).order_by("created_at").values("thread__job_id", "text", "created_at"))


def _erase(user: User, erasure: Erasure) -> None:
    # The other party's messages stay (theirs); the erased person's turn into "[removed]", so the thread still reads in order.
    mine = Message.objects.filter(sender=user)
    erasure.removed(*mine.values_list("text", flat=True))
    mine.update(text=REMOVED)


register(PersonalData("chat.messages", export=_export, erase=_erase))
