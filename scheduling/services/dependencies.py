"""Job dependencies (one job must be done before another can start) and the flags on appointments that break one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit

from .. import events as ev
from .. import selectors
from ..models import Appointment, JobDependency, SlotProposal, Worker
from .common import SlotUnavailable, appointment_data, booked_time_end, local_time, locked_job
from .reminders import drop_unsent_reminders

#
# A dependent job may not start before each of its prerequisites' booked appointments ends.
# Decision: a prerequisite that has no booked appointment yet blocks booking the dependent
# (409 ``prerequisite_not_scheduled``: "book X first"), because "after X" has no date until X
# has one.  Prerequisites that are completed, cancelled or expired no longer hold anything up.
# A booked dependent appointment that stops fitting (its prerequisite is moved later or loses
# its appointment, or a dependency is added to already booked jobs whose prerequisite has no
# date) is never moved or cancelled for people: it is flagged (``conflict_reason`` +
# ``flagged_at``) and ``appointment.flagged`` carries the worker's next free starts after the
# prerequisite ends.  Whenever it fits again the flag is cleared (``appointment.unflagged``).

_NOT_WAITED_FOR = (Job.Status.COMPLETED, Job.Status.CANCELLED, Job.Status.EXPIRED)


@dataclass(frozen=True)
class _Conflict:
    prerequisite: Job
    ends_at: datetime | None  # None: the prerequisite has no booked appointment

    def sentence(self, zone: str) -> str:
        if self.ends_at is None:
            return f"This job depends on “{self.prerequisite.title}”, which has no appointment yet; book that job first."
        return (
            f"This job depends on “{self.prerequisite.title}”, whose appointment ends {local_time(self.ends_at, zone)} ({zone}); "
            "it can only start after that."
        )


def appointment_release(*, job: Job, actor: User, side: str, reason: str = "") -> Appointment | None:
    """Cancel the booked appointment of a job that is being cancelled (inside ``jobs.services.job_cancel``'s transaction).

    Unlike :func:`appointment_cancel`, the job is not returned to awarded: it is cancelled.
    Emits ``appointment.cancelled``; None if nothing was booked.
    """
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("worker")
        .filter(job=job, status=Appointment.Status.BOOKED)
        .first()
    )
    if appointment is None:
        return None
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancelled_at = timezone.now()
    appointment.save(update_fields=["status", "cancelled_at", "updated_at"])
    booked_time_end(appointment, side=side, at=appointment.cancelled_at)
    drop_unsent_reminders(appointment)
    SlotProposal.objects.filter(job=job, status=SlotProposal.Status.OPEN).update(status=SlotProposal.Status.WITHDRAWN)
    data = ev.AppointmentCancelledV1(**appointment_data(appointment), by=side, reason=("The job was cancelled. " + reason)[:500])
    emit(ev.APPOINTMENT_CANCELLED, aggregate_id=job.pk, data=data, actor_id=actor.pk)
    return appointment


def _prerequisite_conflict(*, job_id: int, starts_at: datetime) -> _Conflict | None:
    """The first prerequisite of ``job_id`` that a start at ``starts_at`` does not respect, if any.

    An unscheduled prerequisite wins over a late one; among late ones, the one ending last.
    """
    prerequisites = list(Job.objects.filter(pk__in=selectors.prerequisite_ids(job_id=job_id)).exclude(status__in=_NOT_WAITED_FOR))
    if not prerequisites:
        return None
    booked = {a.job_id: a for a in Appointment.objects.filter(job_id__in=[p.pk for p in prerequisites], status=Appointment.Status.BOOKED)}
    for prerequisite in prerequisites:
        if prerequisite.pk not in booked:
            return _Conflict(prerequisite, None)
    late = [(booked[p.pk].ends_at, p.pk, p) for p in prerequisites if starts_at < booked[p.pk].ends_at]
    if not late:
        return None
    ends_at, _, prerequisite = max(late, key=lambda item: (item[0], item[1]))
    return _Conflict(prerequisite, ends_at)


def check_prerequisites(
    *, job: Job, worker: Worker, starts_at: datetime, duration: timedelta, zone: str, ignore: Appointment | None = None
) -> None:
    if starts_at.tzinfo is None:
        raise ServiceError("The start time needs a time zone.", code="naive_time", kind=Refusal.INVALID)
    conflict = _prerequisite_conflict(job_id=job.pk, starts_at=starts_at)
    if conflict is None:
        return
    if conflict.ends_at is None:
        raise SlotUnavailable(conflict.sentence(zone), code="prerequisite_not_scheduled", kind=Refusal.CONFLICT)
    suggestions = selectors.next_free_slots(worker=worker, duration=duration, after=conflict.ends_at, ignore=ignore)
    hint = " Next free after that: " + ", ".join(local_time(s, zone) for s in suggestions) + "." if suggestions else ""
    raise SlotUnavailable(conflict.sentence(zone) + hint, code="dependency_violation", kind=Refusal.CONFLICT, suggestions=suggestions)


def set_flag(appointment: Appointment, conflict: _Conflict | None, *, actor: User | None, cause: str = "") -> None:
    """Flag ``appointment`` for ``conflict`` (or clear its flag) and emit the matching event, if anything changed."""
    actor_id = actor.pk if actor else None
    if conflict is None:
        if appointment.flagged_at is None:
            return
        appointment.conflict_reason, appointment.flagged_at = "", None
        appointment.save(update_fields=["conflict_reason", "flagged_at", "updated_at"])
        unflagged = ev.AppointmentUnflaggedV1(job_id=appointment.job_id, appointment_id=appointment.pk, cause=cause)
        emit(ev.APPOINTMENT_UNFLAGGED, aggregate_id=appointment.job_id, data=unflagged, actor_id=actor_id)
        return
    zone = appointment.worker.time_zone
    reason = conflict.sentence(zone).replace("This job", "This appointment's job", 1)
    if appointment.flagged_at is not None and appointment.conflict_reason == reason:
        return
    suggestions: list[datetime] = []
    if conflict.ends_at is not None:
        suggestions = selectors.next_free_slots(
            worker=appointment.worker, duration=appointment.ends_at - appointment.starts_at, after=conflict.ends_at, ignore=appointment
        )
    appointment.conflict_reason, appointment.flagged_at = reason, timezone.now()
    appointment.save(update_fields=["conflict_reason", "flagged_at", "updated_at"])
    data = ev.AppointmentFlaggedV1(
        **appointment_data(appointment),
        customer_id=conflict.prerequisite.customer_id,
        prerequisite_job_id=conflict.prerequisite.pk,
        prerequisite_ends_at=conflict.ends_at.astimezone(UTC).isoformat() if conflict.ends_at else None,
        reason=reason,
        suggestions=[s.astimezone(UTC).isoformat() for s in suggestions],
    )
    emit(ev.APPOINTMENT_FLAGGED, aggregate_id=appointment.job_id, data=data, actor_id=actor_id)


def _review(*, job_id: int, actor: User | None, cause: str) -> None:
    """Re-check the booked appointment of ``job_id`` (if any) against its prerequisites; flag or clear."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("worker")
        .filter(job_id=job_id, status=Appointment.Status.BOOKED)
        .first()
    )
    if appointment is not None:
        set_flag(appointment, _prerequisite_conflict(job_id=job_id, starts_at=appointment.starts_at), actor=actor, cause=cause)


def review_dependents(*, job: Job, actor: User) -> None:
    """After ``job``'s appointment moved or was cancelled: flag dependents that no longer fit, clear those that do again."""
    for dependent_id in sorted(selectors.dependent_ids(job_id=job.pk)):
        _review(job_id=dependent_id, actor=actor, cause="prerequisite_moved")


def _dependency_data(job: Job, depends_on: Job) -> ev.DependencyAddedV1:
    return {"job_id": job.pk, "depends_on_id": depends_on.pk, "customer_id": job.customer_id}


def _find_path(edges: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """A path ``start -> ... -> goal`` following ``edges`` (job -> its prerequisites), or None."""
    parents: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            path = [node]
            while (parent := parents[path[-1]]) is not None:
                path.append(parent)
            return path[::-1]
        for nxt in sorted(edges.get(node, ())):
            if nxt not in parents:
                parents[nxt] = node
                frontier.append(nxt)
    return None


def dependency_add(*, job: Job, depends_on: Job, actor: User) -> JobDependency:
    """Make ``job`` wait for ``depends_on`` (both jobs of one customer: the actor's own, or any customer's for staff
    working in the admin). Adding an existing pair returns it unchanged.

    Refuses: someone else's job (403); jobs of two customers (400 ``different_customers``); a job
    depending on itself, a cancelled/expired/completed prerequisite or a dependent that is
    finished, cancelled or already under way (400); a loop (409 ``dependency_cycle``, the message
    names it by job titles: "“A” → “B” → “A”"); both already booked with the dependent starting
    before the prerequisite ends (409 ``dependency_violation``).  If the dependent is booked but the
    prerequisite has no appointment yet, the dependency is added and the dependent appointment
    is flagged.  Emits ``dependency.added`` (aggregate: the dependent job).
    """
    if not actor.is_staff and (actor.pk != job.customer_id or actor.pk != depends_on.customer_id):
        raise ServiceError("You can only link jobs you posted yourself.", code="forbidden", kind=Refusal.FORBIDDEN)
    if job.customer_id != depends_on.customer_id:
        raise ServiceError("Only jobs of the same customer can wait for each other.", code="different_customers", kind=Refusal.INVALID)
    if job.pk == depends_on.pk:
        raise ServiceError("A job cannot depend on itself.", code="dependency_self", kind=Refusal.INVALID)
    with transaction.atomic():
        # One lock over all of the customer's jobs (id order): the graph cannot change while we walk it.
        customer_id = job.customer_id
        jobs = {j.pk: j for j in Job.objects.select_for_update().filter(customer_id=customer_id).order_by("pk")}
        job, depends_on = jobs[job.pk], jobs[depends_on.pk]
        existing = JobDependency.objects.filter(job=job, depends_on=depends_on).first()
        if existing is not None:
            return existing
        if depends_on.status in _NOT_WAITED_FOR:
            done = "is already completed" if depends_on.status == Job.Status.COMPLETED else f"is {depends_on.get_status_display().lower()}"
            raise ServiceError(
                f"“{depends_on.title}” {done}; there is nothing to wait for.", code="prerequisite_closed", kind=Refusal.INVALID
            )
        if job.status not in (Job.Status.OPEN, Job.Status.AWARDED, Job.Status.SCHEDULED):
            state = job.get_status_display().lower()
            raise ServiceError(f"“{job.title}” is {state}; it can no longer wait for another job.", code="job_closed", kind=Refusal.INVALID)
        edges: dict[int, set[int]] = {}
        pairs = JobDependency.objects.filter(job__customer_id=customer_id).values_list("job_id", "depends_on_id")
        for dependent_id, prerequisite_id in pairs:
            edges.setdefault(dependent_id, set()).add(prerequisite_id)
        loop = _find_path(edges, depends_on.pk, job.pk)
        if loop is not None:
            names = " → ".join(f"“{jobs[pk].title}”" for pk in [job.pk, *loop])
            raise ServiceError(
                f"That would make a loop ({names}): none of these jobs could ever start.", code="dependency_cycle", kind=Refusal.CONFLICT
            )
        dependent_appointment = selectors.booked_appointment(job_id=job.pk)
        prerequisite_appointment = selectors.booked_appointment(job_id=depends_on.pk)
        if (
            dependent_appointment is not None
            and prerequisite_appointment is not None
            and dependent_appointment.starts_at < prerequisite_appointment.ends_at
        ):
            zone = actor.time_zone
            raise ServiceError(
                f"“{job.title}” is booked for {local_time(dependent_appointment.starts_at, zone)}, before “{depends_on.title}” ends "
                f"({local_time(prerequisite_appointment.ends_at, zone)}, {zone}); reschedule one of them first.",
                code="dependency_violation",
                kind=Refusal.CONFLICT,
            )
        dependency = JobDependency.objects.create(job=job, depends_on=depends_on, created_by=actor)
        emit(ev.DEPENDENCY_ADDED, aggregate_id=job.pk, data=_dependency_data(job, depends_on), actor_id=actor.pk)
        _review(job_id=job.pk, actor=actor, cause="dependency_added")
    return dependency


def dependency_remove(*, job: Job, depends_on: Job, actor: User) -> None:
    """Stop ``job`` waiting for ``depends_on`` (the customer, or staff in the admin); clears a flag this dependency caused.

    Emits ``dependency.removed`` (and ``appointment.unflagged`` if the dependent appointment fits again).
    """
    if actor.pk != job.customer_id and not actor.is_staff:
        raise ServiceError("You can only change your own jobs.", code="forbidden", kind=Refusal.FORBIDDEN)
    with transaction.atomic():
        job = locked_job(job)
        deleted, _ = JobDependency.objects.filter(job=job, depends_on_id=depends_on.pk).delete()
        if not deleted:
            raise ServiceError("That job does not depend on the other one.", code="not_found", kind=Refusal.NOT_FOUND)
        emit(ev.DEPENDENCY_REMOVED, aggregate_id=job.pk, data=_dependency_data(job, depends_on), actor_id=actor.pk)
        _review(job_id=job.pk, actor=actor, cause="dependency_removed")
