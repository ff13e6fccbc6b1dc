"""What the scheduling app holds about a person (registered with marketplace.privacy): a business's workers
(their names), time off and the messages sent with proposed times."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.models import User
from marketplace.privacy.registry import REMOVED, Erasure, PersonalData, register

from .models import SlotProposal, TimeOff, Worker


def _export(user: User) -> dict[str, Any]:
    return {
        "workers": list(Worker.objects.filter(owner=user).values("id", "name", "time_zone")),
        "time_off": list(TimeOff.objects.filter(worker__owner=user).values("worker_id", "reason")),
        "proposal_messages": list(SlotProposal.objects.filter(proposed_by=user).exclude(message="").values("job_id", "message")),
    }


def _identifiers(user: User) -> list[str]:
    return list(Worker.objects.filter(owner=user).values_list("name", flat=True))


def _erase(user: User, erasure: Erasure) -> None:
    for worker in Worker.objects.filter(owner=user):
        worker.name = f"{erasure.pseudonym} worker {worker.pk}"
        worker.calendar_feed_hash = ""  # as with API tokens: erasure turns every calendar feed off
        worker.save(update_fields=["name", "calendar_feed_hash"])
    TimeOff.objects.filter(worker__owner=user).update(reason="")
    proposals = SlotProposal.objects.filter(proposed_by=user).exclude(message="")
    erasure.removed(*proposals.values_list("message", flat=True))
    proposals.update(message=REMOVED)


register(PersonalData("scheduling", export=_export, erase=_erase, identifiers=_identifiers))
