"""The privacy event: ``user.erased`` (topic ``marketplace.jobs``, key = the user id).

It carries no personal data (it is published and kept in the logs): only the id and the pseudonym the
account now has.  Every consumer that keeps a copy of a person's words or names in a read model
handles it (``on_user_erased``) by scrubbing its rows for that user.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from marketplace.events.schemas import register
from marketplace.events.topics import Topic


class UserErasedV1(TypedDict):
    user_id: int
    pseudonym: str
    role: Literal["customer", "tradesperson"]
    erased_at: str


USER_ERASED = register(
    "user.erased",
    # On the jobs topic: the consumers that keep copies of people's words (board, timeline, ratings, alerts) read it.
    topic=Topic.JOBS,
    aggregate_type="user",
    description="A person's account was erased: every read model scrubs what it holds about them.",
    payload=UserErasedV1,
)
