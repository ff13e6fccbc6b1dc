"""What each app holds about a person, declared as data (as ``periodic.py`` declares the clock's tasks).

An app registers one :class:`PersonalData` per kind of record from its ``privacy.py``:

- ``export(user)``: a JSON-able value for the person's download (their own words and records);
- ``erase(user, erasure)``: remove or pseudonymise the person's data in the app's write models, inside
  :func:`~marketplace.privacy.services.user_erase`'s transaction; it reports the free texts it removed
  with ``erasure.removed(text)`` so copies of them in the event logs are scrubbed too, and may add
  strings that identify the person (a business name) with ``erasure.identifies(text)``;
- ``refuse(user)``: a sentence saying why erasure must wait (money in flight), or None;
- ``identifiers(user)``: strings that identify the person beyond the account (a business name).

Read models are not erased here: they scrub themselves when their consumer sees ``user.erased``.
Retention purges register with :func:`register_purge`; ``manage.py purge_expired`` and the clock run them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from marketplace.accounts.models import User

REMOVED = "[removed]"  # what a person's own words become


@dataclass
class Erasure:
    """What one erasure has found so far: the strings that identify the person and the texts removed."""

    user_id: int
    pseudonym: str
    needles: set[str] = field(default_factory=set)  # identify the person: scrubbed wherever they occur in a copy
    texts: set[str] = field(default_factory=set)  # their own words: scrubbed where a copy holds exactly them

    def identifies(self, *values: str) -> None:
        # Very short strings would match unrelated words in other people's records.
        self.needles.update(v.strip() for v in values if v and len(v.strip()) >= 3)

    def removed(self, *texts: str) -> None:
        self.texts.update(t for t in texts if t and t != REMOVED)


@dataclass(frozen=True)
class PersonalData:
    name: str  # the export's section, "<app>.<what>"
    export: Callable[[User], Any] | None = None
    erase: Callable[[User, Erasure], None] | None = None
    refuse: Callable[[User], str | None] | None = None
    identifiers: Callable[[User], list[str]] | None = None


@dataclass(frozen=True)
class Purge:
    name: str
    run: Callable[[], int]  # deletes (in batches) what is past its retention; returns how many rows


PERSONAL_DATA: dict[str, PersonalData] = {}
PURGES: dict[str, Purge] = {}


def register(part: PersonalData) -> None:
    existing = PERSONAL_DATA.get(part.name)
    if existing is not None and existing != part:
        raise ImproperlyConfigured(f"Two kinds of personal data are named {part.name!r}.")
    PERSONAL_DATA[part.name] = part


def register_purge(purge: Purge) -> None:
    existing = PURGES.get(purge.name)
    if existing is not None and existing != purge:
        raise ImproperlyConfigured(f"Two retention purges are named {purge.name!r}.")
    PURGES[purge.name] = purge
