"""Reads for scheduling: a worker's availability as the pure model in :mod:`scheduling.slots` sees it."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from jobs.models import Job

from . import slots
from .models import Appointment, EmergencyReserve, JobDependency, SlotProposal, TimeOff, Worker, WorkingHours

# How far ahead suggestions look for free slots.
SEARCH_HORIZON = timedelta(days=28)


def worker_availability(*, worker: Worker, start: datetime, end: datetime) -> slots.Availability:
    """Hours, time off and booked appointments of ``worker`` that can matter for ``[start, end)``, and the business's
    emergency reserve (so normal bookings and the slots offered for them leave it free)."""
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
    reserve = emergency_reserve_minutes(owner_id=worker.owner_id)
    return slots.Availability(
        time_zone=worker.time_zone,
        hours=hours,
        travel_buffer=timedelta(minutes=worker.travel_buffer_minutes),
        time_off=off,
        booked=booked,
        reserve=timedelta(minutes=reserve),
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


def emergency_reserve_minutes(*, owner_id: int) -> int:
    """Working minutes a day each worker of the business keeps free for emergencies (0: none)."""
    return EmergencyReserve.objects.filter(owner_id=owner_id).values_list("minutes", flat=True).first() or 0


def first_free_start_on(*, worker: Worker, day: date, zone: str, duration: timedelta) -> datetime | None:
    """The worker's first free start (UTC) on local ``day`` of ``zone`` for a job of ``duration``, ignoring the
    emergency reserve (the dispatcher is placing it); ``None`` when that day has no room."""
    day_start = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
    day_end = day_start + timedelta(days=1)
    availability = dataclasses.replace(worker_availability(worker=worker, start=day_start, end=day_end), reserve=timedelta(0))
    found = slots.free_slots(availability, duration=duration, window_start=day_start, window_end=day_end, now=timezone.now(), limit=1)
    return found[0] if found else None


def clashing_appointment(*, worker: Worker, starts_at: datetime, ends_at: datetime, ignore: int | None = None) -> Appointment | None:
    """The booked appointment of ``worker`` whose blocked range (with its travel) meets ``[starts_at, ends_at + the
    worker's travel buffer)``: the one the exclusion constraint refused a move for."""
    wanted = (starts_at, ends_at + timedelta(minutes=worker.travel_buffer_minutes))
    qs = Appointment.objects.filter(worker=worker, status=Appointment.Status.BOOKED, during__overlap=wanted).select_related("job")
    if ignore is not None:
        qs = qs.exclude(pk=ignore)
    return qs.order_by("starts_at").first()


def unassigned_jobs(*, owner_id: int) -> list[Job]:
    """The business's awarded jobs that have no appointment yet (the dispatch board's queue), oldest award first."""
    return list(
        Job.objects.filter(tradesperson_id=owner_id, status=Job.Status.AWARDED).select_related("customer").order_by("updated_at", "pk")
    )


def stranded_appointments(*, owner_id: int) -> list[Appointment]:
    """Booked, not yet over, appointments of the business's workers who no longer take appointments (to be reassigned)."""
    return list(
        Appointment.objects.filter(
            worker__owner_id=owner_id, worker__active=False, status=Appointment.Status.BOOKED, ends_at__gt=timezone.now()
        )
        .select_related("job", "job__customer", "worker")
        .order_by("starts_at")
    )
