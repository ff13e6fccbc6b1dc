"""What the reviews app holds about a person (registered with marketplace.privacy): the reviews a customer
wrote and the replies a tradesperson wrote.  Ratings stay (they are numbers about the tradesperson's work)."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import Review


def _export(user: User) -> dict[str, Any]:
    return {
        "written": list(Review.objects.filter(customer=user).values("job_id", "rating", "comment", "created_at")),
        "received": list(Review.objects.filter(tradesperson=user).values("job_id", "rating", "comment", "reply", "created_at")),
    }


def _erase(user: User, erasure: Erasure) -> None:
    written = Review.objects.filter(customer=user).exclude(comment="")
    erasure.removed(*written.values_list("comment", flat=True))
    written.update(comment=REMOVED)
    replies = Review.objects.filter(tradesperson=user).exclude(reply="")
    erasure.removed(*replies.values_list("reply", flat=True))
    replies.update(reply=REMOVED)


register(PersonalData("reviews", export=_export, erase=_erase))
