"""The ``tracking`` consumer: GPS pings -> position, ETA, trail, geofence arrival and running-late alerts.

Topics: ``marketplace.tracking`` (``tracking.ping``, key = worker id) and ``marketplace.jobs``
(the visit's steps, to push them live and tell the customer).

For each ping (:meth:`TrackingHandler.on_tracking_ping`), inside the runner's transaction:

1. Ignored unless the job's visit is ``on_the_way`` or ``arrived`` and the ping is from the
   visit's worker (a ping accepted just before a completion lands after it: dropped).
2. The fix joins the trail (:class:`~tracking.models.TrackPoint`, one per visit and time, so a
   redelivered ping adds nothing) while the visit takes positions.
3. A fix not newer than the last one (out of order, or redelivered) stops here: it never moves
   the position backwards.
4. Otherwise the smoothed speed, the distance left and the ETA (``tracking.eta``) are written to
   the visit's read-model columns, and while the visit is ``on_the_way`` a ``tracking.position``
   push goes to ``track.<job_id>`` after commit (only the newest fix of a batch per job).
   Positions are pushed without a sequence (``send_plain_on_commit``): each supersedes the last,
   so a missed one needs no refetch.
5. Geofence: a fix within ``TRACKING['GEOFENCE_RADIUS_M']`` of the job (and at least that
   accurate) while still ``on_the_way`` arrives for the tradesperson
   (``services.visit_arrive_auto``: ``visit.arrived`` with ``auto: true``, through the outbox, once).
6. Running late: when the ETA is later than the appointment start plus
   ``TRACKING['DRIFT_TOLERANCE_MINUTES']`` (and at least two fixes gave a speed, so a cold start
   with no speed yet does not raise a false alarm), ``services.visit_flag_drift`` emits
   ``tracking.eta_drift`` once per visit.

Idempotent: the runner's inbox drops an exact redelivery; a replay by another group finds the
fixes not newer than the last, the stage already ``arrived`` and the drift already flagged.

Cost: pings are the busiest input, so a fix is normally one SQL statement (a CTE that inserts
the trail point and updates the visit).  The handler remembers, for ``REMEMBER_S``, the state it
last wrote for each visit instead of reading it back; the UPDATE is guarded by that state (same
stage, same last fix, same sample count), so after a rolled-back batch, a stage change or another
consumer's write it matches no row, and the handler reads the row and tries again.  Decisions
that skip a fix (out of order, stage) are never taken on remembered state.

For the visit's steps on the jobs topic it pushes to ``job.<id>`` (the customer's page),
``track.<id>``, the tradesperson's ``user.<id>`` (and the booked worker's, if another login),
and notifies the customer (``visit_on_the_way``, ``visit_arrived``, ``eta_drift`` with the new
ETA) and the tradesperson (``eta_drift``), keyed by event id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs import events as jobs_events
from jobs.models import Job
from jobs.streams import job_stream
from marketplace.accounts.models import User
from marketplace.events.envelope import Envelope, InvalidMessage
from marketplace.events.handlers import EventHandler, Retryable
from marketplace.notifications.services import notify
from marketplace.realtime import push
from marketplace.realtime.streams import user_stream
from scheduling import events as scheduling_events
from scheduling.models import Appointment, Worker

from . import eta, services
from . import events as ev
from .models import PING_STAGES, POSITION_FIELDS, Stage, TrackPoint, Visit
from .selectors import eta_payload, utc_iso
from .streams import track_stream

MIN_SPEED_SAMPLES_FOR_DRIFT = 2
# How long the consumer trusts what it last wrote for a visit (the appointment time it read may change).
REMEMBER_S = 2.0


@dataclass(frozen=True)
class _VisitState:
    id: int
    job_id: int
    stage: str
    worker_id: int | None
    last_lat: float | None
    last_lng: float | None
    last_recorded_at: datetime | None
    speed_kmh: float | None
    speed_samples: int
    drift_alerted_at: datetime | None
    job_lat: float
    job_lng: float
    starts_at: datetime | None  # the booked appointment's start
    eta_late: bool = False


def _visit_state(job_id: int) -> _VisitState | None:
    """What a ping needs to know about its visit, job and appointment, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT v.id, v.job_id, v.stage, v.worker_id, v.last_lat, v.last_lng, v.last_recorded_at, v.speed_kmh,
                       v.speed_samples, v.drift_alerted_at, j.latitude, j.longitude,
                       (SELECT a.starts_at FROM {Appointment._meta.db_table} a WHERE a.job_id = v.job_id AND a.status = %s LIMIT 1)
                FROM {Visit._meta.db_table} v JOIN {Job._meta.db_table} j ON j.id = v.job_id
                WHERE v.job_id = %s""",
            [Appointment.Status.BOOKED, job_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return _VisitState(
        id=row[0],
        job_id=row[1],
        stage=row[2],
        worker_id=row[3],
        last_lat=row[4],
        last_lng=row[5],
        last_recorded_at=row[6],
        speed_kmh=row[7],
        speed_samples=row[8],
        drift_alerted_at=row[9],
        job_lat=float(row[10]),
        job_lng=float(row[11]),
        starts_at=row[12],
    )


def _local(moment_iso: str | None, user_id: int) -> str:
    moment = parse_datetime(moment_iso) if moment_iso else None
    if moment is None:
        return ""
    zone = User.objects.filter(pk=user_id).values_list("time_zone", flat=True).first() or "UTC"
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


@dataclass(frozen=True)
class _Fix:
    lat: float
    lng: float
    accuracy_m: float
    speed_mps: float | None
    recorded_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class _Update:
    state: _VisitState  # the visit after this fix
    estimate: eta.Eta
    accuracy_m: float


def _next_state(visit: _VisitState, fix: _Fix) -> _Update:
    """The visit's read model after ``fix`` (pure)."""
    previous = None
    if visit.last_lat is not None and visit.last_lng is not None and visit.last_recorded_at is not None:
        previous = (visit.last_lat, visit.last_lng, visit.last_recorded_at)
    sample = eta.speed_sample_kmh(previous=previous, lat=fix.lat, lng=fix.lng, at=fix.recorded_at, device_speed_mps=fix.speed_mps)
    distance = eta.distance_km(fix.lat, fix.lng, visit.job_lat, visit.job_lng)
    speed = eta.smooth(visit.speed_kmh, sample)
    # The ETA counts from the fix, not from now: a ping processed late does not look nearer than it was.
    estimate = eta.estimate(distance_km=distance, smoothed_kmh=speed, now=fix.recorded_at)
    tolerance = timedelta(minutes=settings.TRACKING["DRIFT_TOLERANCE_MINUTES"])
    state = replace(
        visit,
        last_lat=fix.lat,
        last_lng=fix.lng,
        last_recorded_at=fix.recorded_at,
        speed_kmh=speed,
        speed_samples=visit.speed_samples + (1 if sample is not None else 0),
        eta_late=visit.starts_at is not None and estimate.at > visit.starts_at + tolerance,
    )
    return _Update(state, estimate, fix.accuracy_m)


_POINT_COLUMNS = "(visit_id, lat, lng, accuracy_m, speed_mps, recorded_at, received_at)"


def _point_params(visit: _VisitState, fix: _Fix) -> list[Any]:
    return [visit.id, fix.lat, fix.lng, fix.accuracy_m, fix.speed_mps, fix.recorded_at, fix.received_at]


def _insert_point(visit: _VisitState, fix: _Fix) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {TrackPoint._meta.db_table} {_POINT_COLUMNS} VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (visit_id, recorded_at) DO NOTHING""",
            _point_params(visit, fix),
        )


def _apply(visit: _VisitState, update: _Update, fix: _Fix) -> bool:
    """Add the fix to the trail and write the read model, in one statement, only if the row is as ``visit`` says.

    The guard (same stage, same last fix, same sample count) makes a remembered state safe: if the
    row moved on or back (a rolled-back batch, a stage change), nothing is written and False says
    so.  The trail point is written only while the visit takes positions.
    """
    new, estimate = update.state, update.estimate
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH point AS (
                    INSERT INTO {TrackPoint._meta.db_table} {_POINT_COLUMNS}
                    SELECT %s, %s, %s, %s, %s, %s, %s
                    WHERE EXISTS (SELECT 1 FROM {Visit._meta.db_table} WHERE id = %s AND stage = %s)
                    ON CONFLICT (visit_id, recorded_at) DO NOTHING
                )
                UPDATE {Visit._meta.db_table} SET last_lat = %s, last_lng = %s, last_accuracy_m = %s, last_recorded_at = %s,
                    speed_kmh = %s, speed_samples = %s, eta_minutes = %s, eta_at = %s, eta_distance_km = %s, eta_speed_kmh = %s,
                    eta_late = %s
                WHERE id = %s AND stage = %s AND last_recorded_at IS NOT DISTINCT FROM %s AND speed_samples = %s""",
            [
                *_point_params(visit, fix),
                visit.id,
                visit.stage,
                new.last_lat,
                new.last_lng,
                update.accuracy_m,
                new.last_recorded_at,
                new.speed_kmh,
                new.speed_samples,
                estimate.minutes,
                estimate.at,
                estimate.distance_km,
                estimate.speed_kmh,
                new.eta_late,
                visit.id,
                visit.stage,
                visit.last_recorded_at,
                visit.speed_samples,
            ],
        )
        return cursor.rowcount == 1


class _VisitStep(TypedDict):
    """What every ``visit.*`` and ``tracking.eta_drift`` event shares that ``_push`` reads."""

    job_id: int
    worker_id: int
    tradesperson_id: int


class TrackingHandler(EventHandler):
    def __init__(self) -> None:
        self._newest: dict[int, object] = {}
        # job id -> (when, the visit's state after the last fix this process wrote): saves a read per ping.
        self._states: dict[int, tuple[float, _VisitState]] = {}

    # --- pings ----------------------------------------------------------------------------

    def on_tracking_ping(self, event: Envelope) -> None:
        data = event.payload(ev.TrackingPingV1)
        recorded_at = parse_datetime(data["recorded_at"])
        if recorded_at is None:
            raise InvalidMessage(f"tracking.ping {event.event_id}: recorded_at {data['recorded_at']!r} is not a time")
        job_id = int(data["job_id"])
        fix = _Fix(
            lat=float(data["lat"]),
            lng=float(data["lng"]),
            accuracy_m=float(data["accuracy_m"]),
            speed_mps=data.get("speed_mps"),
            recorded_at=recorded_at,
            received_at=parse_datetime(data["received_at"]) or timezone.now(),
        )
        for attempt in range(3):
            # First try what the previous fix of this visit left (no read); if the row is not as
            # remembered (a rollback, a stage change, another consumer), read it and try again.
            remembered = self._remembered(job_id) if attempt == 0 else None
            visit = remembered or _visit_state(job_id)
            if visit is None or visit.stage not in PING_STAGES or visit.worker_id != data["worker_id"]:
                self._forget(job_id)
                if remembered is not None:
                    continue  # decide on what the database says, not on memory
                return
            if visit.last_recorded_at is not None and recorded_at <= visit.last_recorded_at:
                if remembered is not None:
                    self._forget(job_id)
                    continue
                _insert_point(visit, fix)  # out of order or redelivered: the trail has it, the position stays
                return
            update = _next_state(visit, fix)
            if _apply(visit, update, fix):
                break
            self._forget(job_id)
        else:
            raise Retryable(f"visit of job {job_id} keeps changing under the tracking consumer")
        self._remember(update.state)
        if visit.stage != Stage.ON_THE_WAY:
            return
        estimate, late = update.estimate, update.state.eta_late
        self._push_position(
            job_id,
            {
                "job_id": job_id,
                "lat": fix.lat,
                "lng": fix.lng,
                "at": utc_iso(recorded_at),
                "accuracy_m": fix.accuracy_m,
                "eta": eta_payload(
                    minutes=estimate.minutes, at=estimate.at, distance_km=estimate.distance_km, speed_kmh=estimate.speed_kmh, late=late
                ),
                "event_id": str(event.event_id),
            },
        )
        radius = float(settings.TRACKING["GEOFENCE_RADIUS_M"])
        if eta.inside_geofence(distance_km=estimate.distance_km, accuracy_m=fix.accuracy_m, radius_m=radius):
            self._forget(job_id)  # the stage changes
            services.visit_arrive_auto(job_id=job_id, distance_m=estimate.distance_km * 1000)
        elif late and update.state.speed_samples >= MIN_SPEED_SAMPLES_FOR_DRIFT and visit.drift_alerted_at is None:
            self._forget(job_id)
            services.visit_flag_drift(job_id=job_id, eta_at=estimate.at, eta_minutes=estimate.minutes)

    def _remembered(self, job_id: int) -> _VisitState | None:
        entry = self._states.get(job_id)
        if entry is None or time.monotonic() - entry[0] > REMEMBER_S:
            return None
        return entry[1]

    def _remember(self, state: _VisitState) -> None:
        if len(self._states) > 10_000:
            self._states.clear()
        self._states[state.job_id] = (time.monotonic(), state)

    def _forget(self, job_id: int) -> None:
        self._states.pop(job_id, None)

    def _push_position(self, job_id: int, data: dict[str, Any]) -> None:
        """Push the position after commit, but only the newest of this batch for each job.

        A batch can hold dozens of fixes of one visit (a backlog, or an app sending a buffered
        batch); the page only needs the last, and one push per fix would flood Redis.  Each fix
        registers an on-commit callback that sends only if no newer fix of its job came after it.
        (A newest fix whose savepoint is rolled back leaves its job without a push for this batch;
        the next fix pushes again.)
        """
        token = object()
        self._newest[job_id] = token

        def deliver() -> None:
            if self._newest.get(job_id) is token:
                del self._newest[job_id]
                push.send_plain_on_commit(track_stream(job_id), "tracking.position", data)  # no transaction now: sends at once

        transaction.on_commit(deliver)

    # --- the visit's steps ----------------------------------------------------------------

    def _push(self, event: Envelope) -> Job | None:
        data = event.payload(_VisitStep)
        job = Job.objects.filter(pk=data["job_id"]).first()
        streams = {job_stream(data["job_id"]), track_stream(data["job_id"])}
        if data["tradesperson_id"]:
            streams.add(user_stream(data["tradesperson_id"]))
        worker_user_id = Worker.objects.filter(pk=int(data["worker_id"])).values_list("user_id", flat=True).first()
        if worker_user_id:  # the booked worker's own login, when the business sent an employee
            streams.add(user_stream(worker_user_id))
        for stream in sorted(streams):
            push.send_on_commit(stream, event, event.data)
        return job

    def _tell(self, recipient_id: int, event: Envelope, kind: str, title: str, body: str, url: str) -> None:
        notify(recipient_id=recipient_id, kind=kind, title=title, body=body, url=url, object_key=f"event:{event.event_id}")

    def on_visit_on_the_way(self, event: Envelope) -> None:
        job = self._push(event)
        if job is not None:
            self._tell(
                job.customer_id,
                event,
                "visit_on_the_way",
                f"Your tradesperson is on the way: “{job.title}”",
                "Follow them live on the job page.",
                f"/jobs/{job.pk}/#tracking",
            )

    def on_visit_arrived(self, event: Envelope) -> None:
        job = self._push(event)
        if job is not None:
            self._tell(
                job.customer_id,
                event,
                "visit_arrived",
                f"Your tradesperson has arrived: “{job.title}”",
                "",
                f"/jobs/{job.pk}/#tracking",
            )

    def on_visit_paused(self, event: Envelope) -> None:
        self._push(event)

    on_visit_resumed = on_visit_paused

    def on_tracking_eta_drift(self, event: Envelope) -> None:
        job = self._push(event)
        if job is None:
            return
        data = event.payload(ev.TrackingEtaDriftV1)
        late = round(float(data["late_minutes"]))
        self._tell(
            job.customer_id,
            event,
            "eta_drift",
            f"Running late: “{job.title}”",
            f"New ETA {_local(data['eta_at'], job.customer_id)}, about {late} min after the appointment start.",
            f"/jobs/{job.pk}/#tracking",
        )
        if data["tradesperson_id"]:
            self._tell(
                data["tradesperson_id"],
                event,
                "eta_drift",
                f"You are running late: “{job.title}”",
                f"ETA {_local(data['eta_at'], data['tradesperson_id'])}; the customer has been told.",
                f"/leads/{job.pk}/",
            )

    def on_job_status_changed(self, event: Envelope) -> None:
        # Start and completion are job events; the tracking page hears them on track.<id> too.
        job_id = event.payload(jobs_events.JobStatusChangedV2)["job_id"]
        if Visit.objects.filter(job_id=job_id).exists():
            push.send_on_commit(track_stream(job_id), event, event.data)

    # --- a trip that can no longer happen -----------------------------------------------------

    def on_appointment_cancelled(self, event: Envelope) -> None:
        # Cancelling a job cancels its appointment first (same transaction), so this sees both cases.
        job_id = event.payload(scheduling_events.AppointmentCancelledV1)["job_id"]
        if Visit.objects.filter(job_id=job_id, stage__in=services.CALL_OFF_STAGES).exists():
            services.visit_call_off(job_id=job_id)

    def on_visit_called_off(self, event: Envelope) -> None:
        self._forget(event.payload(ev.VisitCalledOffV1)["job_id"])  # the remembered position state of the trip
        self._push(event)

    # --- rebuild --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget positions and trails (stages are the write model and stay)."""
        TrackPoint.objects.all().delete()
        Visit.objects.update(**POSITION_FIELDS)
