"""Reads for scheduling: a worker's availability as the pure model in :mod:`scheduling.slots` sees it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from . import slots
from .models import Appointment, Invitation, JobDependency, SlotProposal, TimeOff, Worker, WorkingHours

# How far ahead suggestions look for free slots.
SEARCH_HORIZON = timedelta(days=28)


def worker_availability(*, worker: Worker, start: datetime, end: datetime) -> slots.Availability:
    """Hours, time off and booked appointments of ``worker`` that can matter for ``[start, end)``."""
    margin = timedelta(days=2)
    hours = [slots.Hours(h.weekday, h.start, h.end) for h in WorkingHours.objects.filter(worker=worker)]
    off = [
        slots.Interval(t.starts_at, t.ends_at)
        for t in TimeOff.objects.filter(worker=worker, ends_at__gt=start - margin, starts_at__lt=end + margin)
    ]
    booked = [
        slots.Booked(a.starts_at, a.ends_at, timedelta(minutes=a.travel_buffer_minutes), key=a.pk)
        for a in Appointment.objects.filter(
            worker=worker, status=Appointment.Status.BOOKED, ends_at__gt=start - margin, starts_at__lt=end + margin
        )
    ]
    return slots.Availability(
        time_zone=worker.time_zone,
        hours=hours,
        travel_buffer=timedelta(minutes=worker.travel_buffer_minutes),
        time_off=off,
        booked=booked,
    )


def next_free_slots(
    *, worker: Worker, duration: timedelta, after: datetime, count: int = 3, ignore: Appointment | None = None
) -> list[datetime]:
    """The first ``count`` free starts (UTC) for a job of ``duration`` at or after ``after``, up to four weeks ahead."""
    now = timezone.now()
    after = max(after, now)
    end = after + SEARCH_HORIZON
    availability = worker_availability(worker=worker, start=after, end=end)
    return slots.free_slots(
        availability,
        duration=duration,
        window_start=after,
        window_end=end,
        now=now,
        limit=count,
        ignore=ignore.pk if ignore else None,
    )


def workers_of(*, owner_id: int) -> list[Worker]:
    return list(Worker.objects.filter(owner_id=owner_id, active=True))


def worker_appointments(*, worker: Worker, start: datetime, end: datetime) -> list[Appointment]:
    """``worker``'s booked appointments overlapping ``[start, end)``, earliest first, with their jobs."""
    return list(
        Appointment.objects.filter(worker=worker, status=Appointment.Status.BOOKED, starts_at__lt=end, ends_at__gt=start)
        .select_related("job", "worker")
        .order_by("starts_at")
    )


def my_day_window(*, zone: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """From the start of today in ``zone`` to ``MY_DAY_AHEAD_DAYS`` days later: what "My day" lists."""
    local = (now or timezone.now()).astimezone(ZoneInfo(zone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=settings.MY_DAY_AHEAD_DAYS)


def team_of(*, owner_id: int) -> list[Worker]:
    """Every worker of the business (the owner's own first), with their logins."""
    workers = Worker.objects.filter(owner_id=owner_id).select_related("user").order_by("id")
    return sorted(workers, key=lambda w: w.role != Worker.Role.OWNER)


def pending_invitations(*, owner_id: int) -> list[Invitation]:
    return list(Invitation.objects.filter(owner_id=owner_id, status=Invitation.Status.PENDING).order_by("-sent_at"))


def booked_appointment(*, job_id: int) -> Appointment | None:
    return Appointment.objects.filter(job_id=job_id, status=Appointment.Status.BOOKED).select_related("worker").first()


def prerequisite_ids(*, job_id: int) -> list[int]:
    """The jobs ``job_id`` waits for (direct prerequisites only)."""
    return list(JobDependency.objects.filter(job_id=job_id).values_list("depends_on_id", flat=True))


def dependent_ids(*, job_id: int) -> list[int]:
    """The jobs that wait for ``job_id`` (direct dependents only)."""
    return list(JobDependency.objects.filter(depends_on_id=job_id).values_list("job_id", flat=True))


def dependencies_for_customer(*, customer_id: int) -> list[JobDependency]:
    return list(JobDependency.objects.filter(job__customer_id=customer_id).select_related("job", "depends_on"))


def flagged_appointments(*, job_ids: list[int] | None = None) -> list[Appointment]:
    """Booked appointments whose job's dependencies they no longer fit."""
    qs = Appointment.objects.filter(status=Appointment.Status.BOOKED, flagged_at__isnull=False).select_related("worker")
    if job_ids is not None:
        qs = qs.filter(job_id__in=job_ids)
    return list(qs)


def open_proposal(*, job_id: int) -> SlotProposal | None:
    return SlotProposal.objects.filter(job_id=job_id, status=SlotProposal.Status.OPEN).select_related("worker__owner__pro_profile").first()


def flag_suggestions(appointment: Appointment, count: int = 3) -> list[datetime]:
    """For a flagged appointment: the worker's next free starts after its latest booked prerequisite ends."""
    if appointment.flagged_at is None:
        return []
    ends = list(
        Appointment.objects.filter(job_id__in=prerequisite_ids(job_id=appointment.job_id), status=Appointment.Status.BOOKED).values_list(
            "ends_at", flat=True
        )
    )
    if not ends:
        return []
    return next_free_slots(
        worker=appointment.worker, duration=appointment.ends_at - appointment.starts_at, after=max(ends), count=count, ignore=appointment
    )
