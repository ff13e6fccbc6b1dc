"""Lead offers and withdrawals: the lead ledger and its ``lead.offered`` / ``lead.withdrawn`` events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from jobs import events as ev
from jobs import presenters
from jobs.models import Job, Lead, TradespersonProfile
from marketplace.events.outbox import PendingEvent, emit_many

from .selectors import MatchCandidate, live_lead_count


def lead_room(*, job: Job) -> int:
    """How many more leads the job may have live: ``MATCHING['LEADS_PER_JOB']`` minus its live leads."""
    return max(0, int(settings.MATCHING["LEADS_PER_JOB"]) - live_lead_count(job_id=job.pk))


def leads_offer(
    *, job: Job, offers: Sequence[tuple[TradespersonProfile | MatchCandidate, Decimal, Decimal]], match_round: int
) -> list[Lead]:
    """Record leads (profile, distance_km, score; best first) and emit ``lead.offered`` for each new one.

    Called by the matching handler inside its transaction.  A tradesperson with a live lead for
    this job is skipped, so a replayed ``job.posted`` offers nothing twice; one whose lead was
    withdrawn (the job changed, then changed back) gets that lead back.  Never more than the
    job's cap of live leads (``MATCHING['LEADS_PER_JOB']``): the job row is locked while counting,
    so two rounds cannot both take the last places.
    """
    # FOR NO KEY UPDATE: serialises rounds and job changes, but not the consumers inserting rows that reference the
    # job (a timeline entry's foreign key takes KEY SHARE on it, which FOR UPDATE would wait for until they commit).
    Job.objects.select_for_update(of=("self",), no_key=True).filter(pk=job.pk).first()
    existing = {lead.tradesperson_id: lead for lead in Lead.objects.filter(job=job, tradesperson_id__in=[p.user_id for p, _, _ in offers])}
    wanted = [(p, d, s) for p, d, s in offers if p.user_id not in existing or existing[p.user_id].withdrawn_at is not None]
    wanted = wanted[: lead_room(job=job)]
    now = timezone.now()
    revived: list[Lead] = []
    fresh: list[Lead] = []
    for profile, distance, score in wanted:
        lead = existing.get(profile.user_id)
        if lead is None:
            fresh.append(Lead(job=job, tradesperson_id=profile.user_id, match_round=match_round, distance_km=distance, score=score))
            continue
        lead.withdrawn_at, lead.withdrawn_reason = None, ""
        lead.match_round, lead.distance_km, lead.score, lead.offered_at = match_round, distance, score, now
        revived.append(lead)
    if revived:
        Lead.objects.bulk_update(revived, ["withdrawn_at", "withdrawn_reason", "match_round", "distance_km", "score", "offered_at"])
    # One INSERT for the round (the unique constraint still refuses a lead offered concurrently: the
    # runner then re-applies the event alone, and the check above skips that tradesperson).
    created = [*revived, *Lead.objects.bulk_create(fresh)]
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


def leads_withdraw(*, job: Job, leads: Iterable[Lead]) -> list[Lead]:
    """Withdraw live leads (the job no longer fits their tradesperson) and emit ``lead.withdrawn`` for each.

    Called by the matching handler inside its transaction; a lead already withdrawn is left alone,
    so a replayed ``job.updated`` withdraws nothing twice.  The caller keeps the leads of
    tradespeople who already bid (their bid stands; they are told instead).
    """
    now = timezone.now()
    withdrawn = [lead for lead in leads if lead.withdrawn_at is None]
    for lead in withdrawn:
        lead.withdrawn_at, lead.withdrawn_reason = now, Lead.WithdrawnReason.JOB_CHANGED
    Lead.objects.bulk_update(withdrawn, ["withdrawn_at", "withdrawn_reason"])
    emit_many(
        [
            PendingEvent(
                ev.LEAD_WITHDRAWN,
                job.pk,
                ev.LeadWithdrawnV1(
                    lead_id=lead.pk,
                    job_id=job.pk,
                    tradesperson_id=lead.tradesperson_id,
                    reason="job_changed",
                    withdrawn_at=now.isoformat(),
                ),
            )
            for lead in withdrawn
        ]
    )
    return withdrawn
