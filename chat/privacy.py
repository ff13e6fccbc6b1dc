"""What the chat app holds about a person (registered with marketplace.privacy): the messages they sent."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register
from marketplace.privacy.scrub import scrub_rows

from .models import Message


def _export(user: User) -> list[Any]:
    return list(Message.objects.filter(sender=user).order_by("created_at").values("thread__job_id", "text", "created_at"))


def _erase(user: User, erasure: Erasure) -> None:
    # The other party's messages stay (theirs); the erased person's turn into "[removed]", so the thread still reads in order.
    mine = Message.objects.filter(sender=user)
    erasure.removed(*mine.values_list("text", flat=True))
    mine.update(text=REMOVED)
    # The other party's messages stay, without the erased person's name or contact details.
    scrub_rows(Message.objects.filter(Q(thread__customer=user) | Q(thread__tradesperson=user)), ["text"], erasure)


register(PersonalData("chat.messages", export=_export, erase=_erase))
