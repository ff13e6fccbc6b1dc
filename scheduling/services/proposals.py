"""Proposals: the tradesperson offers times, the customer books one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.db import transaction

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .. import events as ev
from ..models import Appointment, SlotProposal, Worker
from .appointments import appointment_book
from .common import MAX_PROPOSED_STARTS, acting_side, check_slot, check_worker, local_time, locked_job
from .dependencies import check_prerequisites


def proposal_create(
    *, job: Job, worker: Worker, starts: Sequence[datetime], duration_minutes: int, actor: User, message: str = ""
) -> SlotProposal:
    """The awarded tradesperson offers 1-5 start times for ``worker``; replaces their earlier open proposal.

    Each time must be bookable now (same checks as :func:`appointment_book`); the first one
    that is not is refused with its position in the message (nothing written).  Emits
    ``appointment.proposed``.
    """
    if not 1 <= len(starts) <= MAX_PROPOSED_STARTS:
        raise ServiceError(f"Propose between 1 and {MAX_PROPOSED_STARTS} times.", code="invalid_starts", kind=Refusal.INVALID)
    if any(s.tzinfo is None for s in starts):
        raise ServiceError("Each start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
    if len({s.astimezone(UTC) for s in starts}) != len(starts):
        raise ServiceError("The proposed times must be different.", code="duplicate_starts", kind=Refusal.INVALID)
    duration = timedelta(minutes=duration_minutes)
    with transaction.atomic():
        job = locked_job(job)
        side = acting_side(job, actor)
        if side != "tradesperson":
            raise ServiceError("Only the tradesperson doing the job proposes times.", code="forbidden", kind=Refusal.FORBIDDEN)
        if job.status != Job.Status.AWARDED:
            raise ServiceError(
                "Times can be proposed only for an awarded job that is not booked yet.", code="job_not_awarded", kind=Refusal.CONFLICT
            )
        check_worker(job, worker, side)
        ordered = sorted(starts)
        for position, start in enumerate(ordered, 1):
            try:
                check_prerequisites(job=job, worker=worker, starts_at=start, duration=duration, zone=actor.time_zone)
                check_slot(worker=worker, starts_at=start, duration=duration)
            except ServiceError as exc:
                label = local_time(start, actor.time_zone)
                exc.message = f"Time {position} ({label}): {exc.message}"
                raise
        SlotProposal.objects.filter(job=job, status=SlotProposal.Status.OPEN).update(status=SlotProposal.Status.WITHDRAWN)
        proposal = SlotProposal.objects.create(
            job=job,
            worker=worker,
            starts=[s.astimezone(UTC) for s in ordered],
            duration_minutes=duration_minutes,
            message=message[:500],
            proposed_by=actor,
        )
        data: ev.AppointmentProposedV1 = {
            "job_id": job.pk,
            "proposal_id": proposal.pk,
            "worker_id": worker.pk,
            "tradesperson_id": worker.owner_id,
            "customer_id": job.customer_id,
            "starts": [s.isoformat() for s in proposal.starts],
            "duration_minutes": duration_minutes,
            "time_zone": worker.time_zone,
            "message": proposal.message,
        }
        emit(ev.APPOINTMENT_PROPOSED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
    return proposal


def proposal_accept(*, proposal: SlotProposal, start: datetime, actor: User) -> Appointment:
    """The customer books one of the proposed times (a 409 with suggestions if it was taken meanwhile)."""
    with transaction.atomic():
        job = locked_job(proposal.job)
        proposal = SlotProposal.objects.select_for_update(of=("self",)).select_related("worker").get(pk=proposal.pk)
        if acting_side(job, actor) != "customer":
            raise ServiceError("Only the customer books one of the proposed times.", code="forbidden", kind=Refusal.FORBIDDEN)
        if proposal.status != SlotProposal.Status.OPEN:
            raise ServiceError("These times are no longer on offer.", code="proposal_closed", kind=Refusal.CONFLICT)
        if start.tzinfo is None:
            raise ServiceError("The start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
        if all(start != offered for offered in proposal.starts):
            raise ServiceError("That time is not one of the proposed times.", code="not_proposed", kind=Refusal.INVALID)
        proposal.status = SlotProposal.Status.ACCEPTED
        proposal.save(update_fields=["status"])
        appointment = appointment_book(
            job=job, worker=proposal.worker, starts_at=start, duration_minutes=proposal.duration_minutes, actor=actor
        )
        proposal.appointment = appointment
        proposal.save(update_fields=["appointment"])
    return appointment
