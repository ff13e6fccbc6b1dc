"""Lead offers: the lead ledger and its ``lead.offered`` events."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from jobs import events as ev
from jobs import presenters
from jobs.models import Job, Lead, TradespersonProfile
from marketplace.events.outbox import PendingEvent, emit_many

from .selectors import MatchCandidate


def leads_offer(
    *, job: Job, offers: Sequence[tuple[TradespersonProfile | MatchCandidate, Decimal, Decimal]], match_round: int
) -> list[Lead]:
    """Record leads (profile, distance_km, score) and emit ``lead.offered`` for each new one.

    Called by the matching handler inside its transaction.  A tradesperson already
    offered this job is skipped, so a replayed ``job.posted`` offers nothing twice.
    """
    offered = set(
        Lead.objects.filter(job=job, tradesperson_id__in=[p.user_id for p, _, _ in offers]).values_list("tradesperson_id", flat=True)
    )
    # One INSERT for the round (the unique constraint still refuses a lead offered concurrently: the
    # runner then re-applies the event alone, and this check skips that tradesperson).
    created = Lead.objects.bulk_create(
        [
            Lead(job=job, tradesperson_id=profile.user_id, match_round=match_round, distance_km=distance, score=score)
            for profile, distance, score in offers
            if profile.user_id not in offered
        ]
    )
    emit_many(
        [
            PendingEvent(
                ev.LEAD_OFFERED,
                job.pk,
                {
                    # What the lead offers, as the lead card shows it, and how matching chose it.
                    **presenters.lead_facts(lead, job),
                    "tradesperson_id": lead.tradesperson_id,
                    "match_round": lead.match_round,
                    "score": str(lead.score),
                },
            )
            for lead in created
        ]
    )
    return created
