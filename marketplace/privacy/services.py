"""Erasure of a person (UK GDPR article 17): :func:`user_erase`."""

from __future__ import annotations

import logging
from typing import Literal

from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .core import scrub_event_logs
from .events import USER_ERASED, UserErasedV1
from .registry import PERSONAL_DATA, Erasure

log = logging.getLogger(__name__)


def erasure_blockers(*, user: User) -> list[str]:
    """Sentences saying why ``user`` cannot be erased yet (work or money in flight); empty when they can."""
    return [reason for part in PERSONAL_DATA.values() if part.refuse and (reason := part.refuse(user))]


def user_erase(*, user: User, actor: User) -> User:
    """Erase ``user``: pseudonymise the account and remove their data from every write model, in one transaction.

    Refused (``erasure_blocked``) while a job of theirs is under way or money is in flight; their open jobs are
    cancelled (``job.cancelled``).  The account keeps its id and becomes ``erased-<id>``: inactive, no password,
    no names or contact details; their words (chat, reviews, bios, job descriptions) become "[removed]"; the
    outbox's and audit log's copies of them are scrubbed.  Emits ``user.erased`` (no personal data), which
    makes every read model scrub its rows.  Idempotent: erasing an erased account changes nothing.
    """
    if not user.is_active and user.username == f"erased-{user.pk}":
        return user
    if user.is_staff or user.is_superuser:
        raise ServiceError(
            "Staff accounts are not erased here: remove the staff rights first.", code="erasure_staff", kind=Refusal.CONFLICT
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        blockers = erasure_blockers(user=user)
        if blockers:
            raise ServiceError(" ".join(blockers), code="erasure_blocked", kind=Refusal.CONFLICT)
        erasure = Erasure(user_id=user.pk, pseudonym=f"erased-{user.pk}")
        for part in PERSONAL_DATA.values():
            if part.identifiers:
                erasure.identifies(*part.identifiers(user))
        role: Literal["customer", "tradesperson"] = "tradesperson" if user.is_tradesperson else "customer"
        # The account last: the apps' erasers may still need to know who the person was.
        for part in sorted(PERSONAL_DATA.values(), key=lambda p: p.name == "account.user"):
            if part.erase:
                part.erase(user, erasure)
        data: UserErasedV1 = {"user_id": user.pk, "pseudonym": erasure.pseudonym, "role": role, "erased_at": timezone.now().isoformat()}
        emit(USER_ERASED, aggregate_id=user.pk, data=data, actor_id=actor.pk)
        scrubbed = scrub_event_logs(erasure)
    log.info("privacy: erased user %s (%d event copies scrubbed), by %s", user.pk, scrubbed, actor.pk)
    return user
