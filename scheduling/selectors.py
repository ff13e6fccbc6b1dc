"""Reads for scheduling: a worker's availability as the pure model in :mod:`scheduling.slots` sees it."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.notifications.models import NotificationPreferences

from . import route, slots
from .models import Appointment, EmergencyReserve, Invitation, JobDependency, SlotProposal, TimeOff, Worker, WorkingHours
from .team import dispatch_business

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


def workers_managed_by(user: User) -> QuerySet[Worker]:
    """The workers whose hours, time off, buffer and calendar feed ``user`` may manage.

    The one place that answers "may this person manage this worker?": whoever runs the business's
    board (``scheduling.team.dispatch_business``: the owner, or one of its dispatchers) manages every
    worker of that business; every page, API and service asks it.  (The business's service area is
    the owner's alone: the availability page asks for that separately.)
    """
    business = dispatch_business(user)
    if business is None:
        return Worker.objects.none()
    return Worker.objects.filter(owner=business)


def may_manage_worker(user: User, worker: Worker) -> bool:
    return workers_managed_by(user).filter(pk=worker.pk).exists()


def feed_token_hash(token: str) -> str:
    """What is stored for a calendar feed secret (SHA-256 hex): a leaked table does not give working feed URLs."""
    return hashlib.sha256(token.encode()).hexdigest()


def worker_by_feed_token(token: str) -> Worker | None:
    """The active worker whose calendar feed secret is ``token``; None for an unknown or revoked one."""
    if not token:
        return None
    return Worker.objects.filter(calendar_feed_hash=feed_token_hash(token), active=True).first()


def feed_appointments(*, worker: Worker) -> list[Appointment]:
    """A worker's appointments for their calendar feed: from ``FEED_PAST_DAYS`` ago to ``FEED_AHEAD_DAYS`` ahead,
    cancelled ones included (the feed marks them cancelled so calendars drop them)."""
    now = timezone.now()
    figures = settings.AVAILABILITY
    return list(
        Appointment.objects.filter(
            worker=worker,
            starts_at__gte=now - timedelta(days=figures["FEED_PAST_DAYS"]),
            starts_at__lt=now + timedelta(days=figures["FEED_AHEAD_DAYS"]),
        )
        .select_related("job__trade")
        .order_by("starts_at", "pk")
    )


def upcoming_time_off(*, worker: Worker) -> list[TimeOff]:
    return list(TimeOff.objects.filter(worker=worker, ends_at__gt=timezone.now()).order_by("starts_at"))


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


# Prerequisites in these states hold nothing up any more (the same rule as scheduling.services.dependencies).
SETTLED_STATUSES = (Job.Status.COMPLETED, Job.Status.CANCELLED, Job.Status.EXPIRED)
# A job can be made to wait for another while it is in one of these states.
LINKABLE_STATUSES = (Job.Status.OPEN, Job.Status.AWARDED, Job.Status.SCHEDULED)


@dataclass(frozen=True)
class LinkedJob:
    """One end of a dependency as people see it: the other job and its booked time, if any."""

    job: Job
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True)
class JobLinks:
    prerequisites: list[LinkedJob]  # the jobs this one waits for
    dependents: list[LinkedJob]  # the jobs that wait for this one


def job_links(*, job_id: int) -> JobLinks:
    """The direct prerequisites and dependents of ``job_id``, each with its booked appointment's times (title order)."""
    links = list(JobDependency.objects.filter(job_id=job_id).select_related("depends_on")) + list(
        JobDependency.objects.filter(depends_on_id=job_id).select_related("job")
    )
    others = [link.depends_on if link.job_id == job_id else link.job for link in links]
    booked = {a.job_id: a for a in Appointment.objects.filter(job_id__in=[j.pk for j in others], status=Appointment.Status.BOOKED)}

    def linked(job: Job) -> LinkedJob:
        appointment = booked.get(job.pk)
        return LinkedJob(job, appointment.starts_at if appointment else None, appointment.ends_at if appointment else None)

    prerequisites = [linked(link.depends_on) for link in links if link.job_id == job_id]
    dependents = [linked(link.job) for link in links if link.job_id != job_id]
    return JobLinks(
        prerequisites=sorted(prerequisites, key=lambda item: (item.job.title, item.job.pk)),
        dependents=sorted(dependents, key=lambda item: (item.job.title, item.job.pk)),
    )


def prerequisite_candidates(*, job: Job) -> list[Job]:
    """The customer's other jobs ``job`` could be made to wait for: still to be done, and not already a prerequisite."""
    return list(
        Job.objects.filter(customer_id=job.customer_id, status__in=LINKABLE_STATUSES)
        .exclude(pk=job.pk)
        .exclude(pk__in=prerequisite_ids(job_id=job.pk))
        .order_by("title", "pk")
    )


@dataclass(frozen=True)
class PrerequisiteWait:
    """What holds a job's booking up: an unscheduled prerequisite (``ends_at`` None) or the one that ends last."""

    prerequisite: Job
    ends_at: datetime | None


def prerequisite_wait(*, job_id: int) -> PrerequisiteWait | None:
    """The prerequisite that decides when ``job_id`` may start, or None when nothing holds it up.

    A prerequisite with no booked appointment wins (the job cannot be booked until it has a date);
    otherwise the booked one that ends last.  Settled prerequisites (completed, cancelled,
    expired) are ignored, as :func:`scheduling.services.check_prerequisites` ignores them.
    """
    prerequisites = list(Job.objects.filter(pk__in=prerequisite_ids(job_id=job_id)).exclude(status__in=SETTLED_STATUSES).order_by("pk"))
    if not prerequisites:
        return None
    booked = {
        a.job_id: a.ends_at for a in Appointment.objects.filter(job_id__in=[p.pk for p in prerequisites], status=Appointment.Status.BOOKED)
    }
    for prerequisite in prerequisites:
        if prerequisite.pk not in booked:
            return PrerequisiteWait(prerequisite, None)
    prerequisite = max(prerequisites, key=lambda p: (booked[p.pk], p.pk))
    return PrerequisiteWait(prerequisite, booked[prerequisite.pk])


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


def day_routes(*, owner_id: int, day: date, zone: str, worker_id: int | None = None) -> dict[int, route.Route]:
    """Each worker's route (see :mod:`scheduling.route`) for the local ``day`` in ``zone``, keyed by worker id.

    Booked appointments starting that day, of the business's workers (or of one ``worker_id``);
    a worker with none is absent.  A customer-confirmed appointment keeps its time in the
    suggested order; the others may move.  One query.
    """
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    qs = Appointment.objects.filter(worker__owner_id=owner_id, status=Appointment.Status.BOOKED, starts_at__gte=start, starts_at__lt=end)
    if worker_id is not None:
        qs = qs.filter(worker_id=worker_id)
    stops: dict[int, list[route.Stop]] = defaultdict(list)
    for appointment in qs.select_related("job"):
        job = appointment.job
        fixed = appointment.starts_at if appointment.confirmed_at is not None else None
        stops[appointment.worker_id].append(
            route.Stop(
                key=appointment.pk,
                label=job.place or job.title,
                lat=float(job.latitude),
                lng=float(job.longitude),
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                earliest=fixed,
                latest=fixed,
                title=job.title,
            )
        )
    return {worker: route.plan_route(found) for worker, found in stops.items()}


def appointment_for_sms_reply(*, phone: str, now: datetime) -> Appointment | None:
    """The appointment a text from ``phone`` answers: the next one, not yet over, of a customer with that
    mobile number that a reminder was sent for (earliest first).  None when no one matches."""
    customer_ids = NotificationPreferences.objects.filter(phone=phone).values_list("user_id", flat=True)
    return (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            job__customer_id__in=customer_ids,
            ends_at__gt=now,
            reminders__sent_at__isnull=False,
        )
        .select_related("job__customer", "worker")
        .order_by("starts_at")
        .first()
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
