"""The only code that changes a visit, and the door GPS pings come in by.

Stage changes (:func:`visit_act`, :func:`visit_arrive_auto`, :func:`visit_flag_drift`) lock the
job, then the visit, write the stage and a :class:`~tracking.models.VisitStep`, and emit their
event through the outbox in the same transaction (``visit.*`` / ``tracking.eta_drift`` on the jobs
topic, key = job id).  ``start`` and ``complete`` also move the job itself
(``jobs.services.job_start_work`` / ``job_complete``) in that transaction, so the visit and the job
never disagree.  The order of stages is fixed::

    scheduled -> on_the_way -> arrived -> working <-> paused -> completed

Anything else is 409 ``status_skip`` with a message saying what to do first; repeating the
current stage (a double tap) changes nothing and answers 200.  Only the awarded tradesperson or
the login of the worker booked for the job may act (403 otherwise).

Pings (:func:`pings_accept`) do **not** go through the outbox: they are produced straight to
``marketplace.tracking`` (key = worker id) by the acknowledged producer (``marketplace.events.producer``:
idempotent, acks=all), and the request answers 202 only after the broker acknowledged every accepted
ping (503 ``tracking_unavailable`` if it does not within a few seconds; nothing was accepted then and
the app retries).  This is
not a dual write: the request writes nothing to Postgres, so there is no second store to disagree
with; a ping is an observation, not a change of domain state, and losing one during an outage is
harmless (the next one, seconds later, supersedes it).  Pings are the highest-volume input we
have (one every few seconds per tradesperson on the road); an outbox row, a sequence-row lock and
a relay hop per ping would multiply the database write load for no guarantee anyone needs.  The
state changes a ping can cause (geofence arrival, running late) are made by the consumer through
the services below, with the outbox, exactly once.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from confluent_kafka import Producer
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs import services as job_services
from jobs.models import Job
from marketplace import ratelimit
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.context import current_correlation_id
from marketplace.events.envelope import Envelope, normalise_data
from marketplace.events.kafka import make_producer
from marketplace.events.models import ProcessedEvent
from marketplace.events.outbox import emit
from marketplace.events.producer import OutgoingMessage, send_and_wait
from marketplace.events.schemas import EventType, validate_data
from marketplace.events.topics import kafka_topic
from scheduling.models import Appointment
from scheduling.selectors import booked_appointment

from . import events as ev
from .models import PING_STAGES, POSITION_FIELDS, Stage, TrackPoint, Visit, VisitStep
from .selectors import ACTING_PARTIES, ACTIONS, SET_OFF_GRACE, job_state_problem, party_of, utc_iso

log = logging.getLogger(__name__)

MAX_PINGS_PER_REQUEST = 100
MAX_ACCURACY_M = 10_000.0
MAX_SPEED_MPS = 100.0
DELIVERY_TIMEOUT_S = 5.0

_STEP_EVENTS: dict[str, EventType] = {
    "on_the_way": ev.VISIT_ON_THE_WAY,
    "arrived": ev.VISIT_ARRIVED,
    "pause": ev.VISIT_PAUSED,
    "resume": ev.VISIT_RESUMED,
}

_SKIP_HINTS = {
    Stage.SCHEDULED: "Tap “On the way” first.",
    Stage.ON_THE_WAY: "Mark yourself arrived first.",
    Stage.ARRIVED: "Start the work first.",
    Stage.WORKING: "The work is in progress: pause or complete it.",
    Stage.PAUSED: "The work is paused: resume or complete it.",
    Stage.COMPLETED: "This visit is completed.",
}


# --- stages -------------------------------------------------------------------------------


def _locked(job_id: int) -> tuple[Job, Visit, Appointment | None]:
    """Lock the job then its visit (created on first use), always in that order."""
    job = Job.objects.select_for_update(of=("self",)).get(pk=job_id)
    Visit.objects.get_or_create(job=job)
    visit = Visit.objects.select_for_update(of=("self",)).get(job=job)
    return job, visit, booked_appointment(job_id=job_id)


def _event_data(job: Job, visit: Visit, at: datetime) -> ev.VisitPausedV1:
    """What every visit event carries (``visit.paused`` is exactly that); the others add their own keys."""
    tradesperson_id = job.tradesperson_id
    # A visit moves only on an awarded job, with the worker who set off (the schema requires both).
    assert tradesperson_id is not None and visit.worker_id is not None
    return ev.VisitPausedV1(
        job_id=job.pk,
        visit_id=visit.pk,
        worker_id=visit.worker_id,
        tradesperson_id=tradesperson_id,
        customer_id=job.customer_id,
        stage=visit.stage,
        at=utc_iso(at),
    )


def _move(visit: Visit, stage: str, at: datetime, actor: User | None, *, auto: bool = False) -> None:
    visit.stage = stage
    visit.stage_changed_at = at
    fields = ["stage", "stage_changed_at", "updated_at"]
    stamp = {Stage.ON_THE_WAY: "on_the_way_at", Stage.ARRIVED: "arrived_at", Stage.COMPLETED: "completed_at"}.get(Stage(stage))
    if stage == Stage.WORKING and visit.started_at is None:
        stamp = "started_at"
    if stamp:
        setattr(visit, stamp, at)
        fields.append(stamp)
    if stage == Stage.ARRIVED:
        visit.arrived_auto = auto
        fields.append("arrived_auto")
    visit.save(update_fields=fields)
    VisitStep.objects.create(visit=visit, stage=stage, at=at, auto=auto, actor=actor)


def visit_act(*, job: Job | int, actor: User, action: str) -> Visit:
    """Take one step of the visit (``on_the_way``, ``arrived``, ``start``, ``pause``, ``resume``, ``complete``).

    Emits ``visit.on_the_way`` / ``visit.arrived`` (auto false) / ``visit.paused`` / ``visit.resumed``;
    ``start`` and ``complete`` emit ``job.status_changed`` through the jobs services instead.
    Raises 403 ``forbidden`` (not the assigned business), 409 ``status_skip`` (out of order),
    409 ``not_scheduled`` / ``not_started`` / ``job_not_active`` (the job's state rules it out).
    """
    if action not in ACTIONS:
        raise ServiceError(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.", code="bad_action", kind=Refusal.INVALID)
    sources, target = ACTIONS[action]
    job_id = job.pk if isinstance(job, Job) else job
    with transaction.atomic():
        locked_job, visit, appointment = _locked(job_id)
        if party_of(actor, locked_job, appointment) not in ACTING_PARTIES:
            raise ServiceError(
                "Only the tradesperson doing this job (or their booked worker) can update the visit.", "forbidden", Refusal.FORBIDDEN
            )
        if visit.stage == target:
            return visit  # a double tap: already there
        if visit.stage not in sources:
            raise ServiceError(f"Cannot {action.replace('_', ' ')} now: {_SKIP_HINTS[Stage(visit.stage)]}", code="status_skip")
        problem = job_state_problem(action, locked_job, has_appointment=appointment is not None)
        if problem is not None:
            raise ServiceError(problem[1], code=problem[0])
        now = timezone.now()
        if action == "on_the_way":
            assert appointment is not None
            visit.worker = appointment.worker
            visit.save(update_fields=["worker", "updated_at"])
        owner_id = locked_job.tradesperson_id
        assert owner_id is not None  # party_of found an acting party, so the job is awarded
        owner = User.objects.get(pk=owner_id)
        if action == "start":
            # The job's own rules (assigned tradesperson, scheduled -> in progress) apply; the owner is
            # the actor the jobs service knows, the step records who really tapped.
            job_services.job_start_work(job=locked_job, actor=owner)
        elif action == "complete":
            job_services.job_complete(job=locked_job, actor=owner)
        _move(visit, target, now, actor)
        event_type = _STEP_EVENTS.get(action)
        if event_type is not None:
            extra: dict[str, Any] = {}
            if action == "on_the_way":
                extra["destination"] = {"lat": float(locked_job.latitude), "lng": float(locked_job.longitude)}
            elif action == "arrived":
                extra["auto"] = False
            # One call for several types (their TypedDicts are _event_data plus ``extra``): checked by the schema.
            emit(event_type, aggregate_id=locked_job.pk, data={**_event_data(locked_job, visit, now), **extra}, actor_id=actor.pk)
    return visit


def visit_customer_absent(*, job: Job | int, actor: User) -> Visit:
    """The tradesperson, on site ``CUSTOMER_NO_SHOW_WAIT_MINUTES`` (15) and still not let in, reports the customer absent.

    The job is cancelled (``job.cancelled`` by the tradesperson); the payments consumer reads
    ``customer_absent_at`` and charges the call-out fee from the deposit (``payments/cancellation.py``).
    Refuses 403 ``forbidden`` (not the assigned business), 409 ``not_arrived`` (not on site, or
    already working) or ``too_soon`` (waited less than the limit; the message says until when).
    """
    job_id = job.pk if isinstance(job, Job) else job
    with transaction.atomic():
        locked_job, visit, appointment = _locked(job_id)
        if party_of(actor, locked_job, appointment) not in ACTING_PARTIES:
            raise ServiceError("Only the tradesperson doing this job can report the customer absent.", "forbidden", Refusal.FORBIDDEN)
        allowed_from = visit.customer_absent_from()
        if allowed_from is None or locked_job.status != Job.Status.SCHEDULED:
            raise ServiceError("You can report the customer absent only once you have arrived and before work starts.", code="not_arrived")
        now = timezone.now()
        if now < allowed_from:
            wait = int(settings.PAYMENTS["CUSTOMER_NO_SHOW_WAIT_MINUTES"])
            minutes = math.ceil((allowed_from - now).total_seconds() / 60)
            raise ServiceError(
                f"Please wait {wait} minutes on site before reporting the customer absent ({minutes} more).", code="too_soon"
            )
        visit.customer_absent_at = now
        visit.save(update_fields=["customer_absent_at", "updated_at"])
        owner_id = locked_job.tradesperson_id
        assert owner_id is not None  # party_of found an acting party, so the job is awarded
        job_services.job_cancel(job=locked_job, actor=User.objects.get(pk=owner_id), reason="The customer was not there.")
    return visit


def visit_arrive_auto(*, job_id: int, distance_m: float) -> Visit | None:
    """The geofence saw the tradesperson at the job: arrive for them, once.

    Called by the tracking consumer in its transaction.  Does nothing (None) unless the visit is
    still ``on_the_way`` and the job still scheduled, so redelivered or later pings never emit a
    second ``visit.arrived``.
    """
    with transaction.atomic():
        job, visit, _ = _locked(job_id)
        if visit.stage != Stage.ON_THE_WAY or job.status != Job.Status.SCHEDULED:
            return None
        now = timezone.now()
        _move(visit, Stage.ARRIVED, now, None, auto=True)
        data = ev.VisitArrivedV1(**_event_data(job, visit, now), auto=True, distance_m=round(distance_m, 1))
        emit(ev.VISIT_ARRIVED, aggregate_id=job.pk, data=data)
    return visit


def visit_flag_drift(*, job_id: int, eta_at: datetime, eta_minutes: float) -> Visit | None:
    """Record that the tradesperson on the way will be late and emit ``tracking.eta_drift``, once per visit.

    Called by the tracking consumer.  None (nothing emitted) if already alerted, no longer on the
    way, or the booked appointment is gone.
    """
    with transaction.atomic():
        job, visit, appointment = _locked(job_id)
        if visit.drift_alerted_at is not None or visit.stage != Stage.ON_THE_WAY or appointment is None:
            return None
        now = timezone.now()
        visit.drift_alerted_at = now
        visit.save(update_fields=["drift_alerted_at", "updated_at"])
        data = ev.TrackingEtaDriftV1(
            **_event_data(job, visit, now),
            eta_at=utc_iso(eta_at),
            eta_minutes=round(eta_minutes, 1),
            late_minutes=round((eta_at - appointment.starts_at).total_seconds() / 60, 1),
            appointment_starts_at=utc_iso(appointment.starts_at),
            appointment_ends_at=utc_iso(appointment.ends_at),
        )
        emit(ev.ETA_DRIFT, aggregate_id=job.pk, data=data)
    return visit


# What the customer was shown of a trip, and its one-off late alert; forgotten when the trip is called
# off (privacy: nothing about where the tradesperson is stays on the customer's page once they are not coming).
_TRIP_FIELDS = {**POSITION_FIELDS, "drift_alerted_at": None}
CALL_OFF_STAGES = (Stage.ON_THE_WAY, Stage.ARRIVED)
CallOffStage = Literal["on_the_way", "arrived"]  # CALL_OFF_STAGES, as visit.called_off's schema names them
CallOffReason = Literal["appointment_cancelled", "job_cancelled"]


def visit_call_off(*, job_id: int) -> Visit | None:
    """The trip can no longer happen (the appointment or the whole job was cancelled): a visit on the way
    or arrived goes back to ``scheduled``, its position, ETA and trail are forgotten, and ``visit.called_off``
    is emitted (``reason`` ``job_cancelled`` or ``appointment_cancelled``), so both pages stop showing a
    trip and pings are refused until the tradesperson sets off again for a new appointment.

    Called by the tracking consumer when it sees the cancellation.  None (nothing emitted) if the visit has
    not set off, has started work (the work's own rules apply then), or an appointment is booked again by
    the time the event is applied; a redelivered event therefore does nothing.
    """
    with transaction.atomic():
        job, visit, appointment = _locked(job_id)
        if visit.stage not in CALL_OFF_STAGES:
            return None
        if appointment is not None and job.status == Job.Status.SCHEDULED:
            return None  # booked again meanwhile: the trip may go on
        from_stage = visit.stage
        now = timezone.now()
        for name, value in _TRIP_FIELDS.items():
            setattr(visit, name, value)
        visit.save(update_fields=[*_TRIP_FIELDS, "updated_at"])
        TrackPoint.objects.filter(visit=visit).delete()
        _move(visit, Stage.SCHEDULED, now, None)
        reason: CallOffReason = "job_cancelled" if job.status == Job.Status.CANCELLED else "appointment_cancelled"
        data = ev.VisitCalledOffV1(**_event_data(job, visit, now), from_stage=cast(CallOffStage, from_stage), reason=reason)
        emit(ev.VISIT_CALLED_OFF, aggregate_id=job.pk, data=data)
    return visit


# --- pings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class PingResult:
    accepted: int
    rejected: list[Rejection]


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _number(raw: dict[str, Any], name: str, *, required: bool = True) -> float | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _Bad("missing_field", f"{name} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad("not_a_number", f"{name} must be a number.")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _Bad("not_a_number", f"{name} must be a number.") from None
    if not math.isfinite(number):
        raise _Bad("not_finite", f"{name} must be a finite number (not NaN or infinity).")
    return number


def validate_ping(raw: Any, *, now: datetime) -> dict[str, Any]:
    """One ping as the event carries it, or :class:`_Bad` naming what is wrong (pure)."""
    if not isinstance(raw, dict):
        raise _Bad("bad_ping", "Each ping is an object with lat, lng, accuracy_m and recorded_at.")
    lat, lng = _number(raw, "lat"), _number(raw, "lng")
    assert lat is not None and lng is not None
    if not -90 <= lat <= 90 or not -180 <= lng <= 180:
        raise _Bad("out_of_range", "lat must be within -90..90 and lng within -180..180.")
    accuracy = _number(raw, "accuracy_m")
    assert accuracy is not None
    if not 0 <= accuracy <= MAX_ACCURACY_M:
        raise _Bad("bad_accuracy", f"accuracy_m must be between 0 and {MAX_ACCURACY_M:.0f} metres.")
    speed = _number(raw, "speed_mps", required=False)
    if speed is not None and not 0 <= speed <= MAX_SPEED_MPS:
        raise _Bad("bad_speed", f"speed_mps must be between 0 and {MAX_SPEED_MPS:.0f}.")
    heading = _number(raw, "heading", required=False)
    if heading is not None and not 0 <= heading <= 360:
        raise _Bad("bad_heading", "heading must be between 0 and 360 degrees.")
    text = raw.get("recorded_at")
    moment = parse_datetime(text) if isinstance(text, str) else None
    if moment is None or moment.tzinfo is None:
        raise _Bad("bad_time", "recorded_at must be an ISO 8601 time with an offset, e.g. 2026-11-21T12:00:00Z.")
    conf = settings.TRACKING
    if moment < now - timedelta(seconds=conf["MAX_PING_AGE_S"]):
        raise _Bad("too_old", f"recorded_at is more than {conf['MAX_PING_AGE_S'] // 60} minutes ago; such a position is no use any more.")
    if moment > now + timedelta(seconds=conf["MAX_PING_FUTURE_S"]):
        raise _Bad("in_future", "recorded_at is in the future; check the device clock.")
    return {"lat": lat, "lng": lng, "accuracy_m": accuracy, "recorded_at": utc_iso(moment), "speed_mps": speed, "heading": heading}


def rate_limit_key(worker_id: int, window: int) -> str:
    return ratelimit.key("tracking_ping", worker_id, window)


def _rate_limit(worker_id: int, count: int) -> None:
    """Fixed one-minute window per worker (marketplace.ratelimit), counting pings, not requests."""
    limit = settings.TRACKING["RATE_LIMIT_PER_MINUTE"]
    wait = ratelimit.hit("tracking_ping", worker_id, limit=limit, window=60, cost=count)
    if wait is not None:
        raise ratelimit.RateLimited(f"Too many pings: at most {limit} a minute per worker. Retry in {wait} s.", wait=wait)


_producer_lock = threading.Lock()
_producers: dict[str, Producer] = {}


def _producer() -> Producer:
    """One idempotent producer per process (and per broker address, which tests change)."""
    bootstrap = settings.KAFKA["BOOTSTRAP_SERVERS"]
    with _producer_lock:
        producer = _producers.get(bootstrap)
        if producer is None:
            producer = make_producer("tracking-pings", **{"linger.ms": 0, "message.timeout.ms": int(DELIVERY_TIMEOUT_S * 1000)})
            _producers[bootstrap] = producer
        return producer


def _discard_producer(producer: Producer) -> None:
    """The next request builds a fresh producer (a new producer id), as the relay does.

    An idempotent producer whose broker lost its id (a broker that lost its volume; a cluster can also
    expire an idle producer's id) fails every later send, fatally or by timing out, forever.
    """
    with _producer_lock:
        for bootstrap, cached in list(_producers.items()):
            if cached is producer:
                del _producers[bootstrap]


def ping_envelope(*, job_id: int, worker_id: int, ping: dict[str, Any], actor_id: int | None, now: datetime) -> Envelope:
    """The envelope of one ping.  ``sequence`` is the fix time in ms: it only ever grows for one worker."""
    data = normalise_data({"job_id": job_id, "worker_id": worker_id, **ping, "received_at": utc_iso(now)})
    validate_data(ev.PING.name, ev.PING.current_version, data)
    recorded = parse_datetime(ping["recorded_at"])
    assert recorded is not None
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=ev.PING.name,
        schema_version=ev.PING.current_version,
        occurred_at=now,
        aggregate_type=ev.PING.aggregate_type,
        aggregate_id=str(worker_id),
        sequence=max(1, int(recorded.timestamp() * 1000)),
        actor_id=actor_id,
        correlation_id=current_correlation_id(),
        causation_id=None,
        data=data,
    )


def produce_pings(envelopes: list[Envelope]) -> None:
    """Produce and wait for the broker's acks; 503 ``tracking_unavailable`` if any is not acknowledged.

    The page keeps the batch of a 503 and sends it again (static/js/visit.js), so after any failure
    this producer is replaced: a duplicate of a ping that did land is dropped by the consumer's inbox.
    """
    if not envelopes:
        return
    producer = _producer()
    messages = [
        OutgoingMessage(
            kafka_topic(ev.PING.topic),
            envelope.key,
            envelope.to_json(),
            [("event_type", envelope.event_type.encode()), ("event_id", str(envelope.event_id).encode())],
        )
        for envelope in envelopes
    ]
    # shared: every request thread of this process produces with it.
    acks = send_and_wait(producer, messages, timeout=DELIVERY_TIMEOUT_S + 1, shared=True)
    if not acks.complete:
        _discard_producer(producer)
        log.warning("tracking: %d of %d pings not acknowledged (%s)", acks.total - len(acks.delivered), acks.total, acks.first_error())
        raise ServiceError(
            "Tracking is briefly unavailable; keep the pings and retry shortly.", "tracking_unavailable", Refusal.UNAVAILABLE
        )


def pings_accept(*, job: Job, actor: User, pings: list[Any], now: datetime | None = None) -> PingResult:
    """Validate a batch of pings for ``job`` and publish the good ones (see the module docstring).

    Refused as a whole (nothing published): 403 ``forbidden`` (not the assigned business), 409
    ``visit_not_active`` (the visit is not on the way or arrived, e.g. completed), 429
    ``rate_limited``.  Single bad pings are listed in ``rejected`` and the rest accepted.
    """
    now = now or timezone.now()
    if not 1 <= len(pings) <= MAX_PINGS_PER_REQUEST:
        raise ServiceError(f"Send 1 to {MAX_PINGS_PER_REQUEST} pings at a time.", code="bad_batch", kind=Refusal.INVALID)
    appointment = booked_appointment(job_id=job.pk)
    if party_of(actor, job, appointment) not in ACTING_PARTIES:
        raise ServiceError(
            "Only the tradesperson doing this job (or their booked worker) can send its positions.", "forbidden", Refusal.FORBIDDEN
        )
    visit = Visit.objects.filter(job=job).first()
    if visit is None or visit.stage not in PING_STAGES or job.status != Job.Status.SCHEDULED or visit.worker_id is None:
        stage = visit.stage if visit else Stage.SCHEDULED
        raise ServiceError(
            f"Positions are accepted only while on the way to the job or just arrived (the visit is {Stage(stage).label.lower()}).",
            code="visit_not_active",
        )
    _rate_limit(visit.worker_id, len(pings))
    accepted: list[Envelope] = []
    rejected: list[Rejection] = []
    set_off = visit.on_the_way_at
    for index, raw in enumerate(pings):
        try:
            ping = validate_ping(raw, now=now)
            if set_off is not None and (parse_datetime(ping["recorded_at"]) or now) < set_off - SET_OFF_GRACE:
                raise _Bad("before_on_the_way", "recorded_at is before the tradesperson set off; only positions on the way are shared.")
        except _Bad as bad:
            rejected.append(Rejection(index, bad.code, str(bad)))
            continue
        accepted.append(ping_envelope(job_id=job.pk, worker_id=visit.worker_id, ping=ping, actor_id=actor.pk, now=now))
    produce_pings(accepted)
    return PingResult(len(accepted), rejected)


def pings_purge(*, older_than: timedelta) -> tuple[int, int, int]:
    """Privacy: delete trail points older than ``older_than``, forget last positions that old, and drop the
    consumer's inbox rows for those pings. Returns (points, positions cleared, inbox rows). Run by the clock
    hourly and by ``manage.py purge_pings``."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        points, _ = TrackPoint.objects.filter(recorded_at__lt=cutoff).delete()
        cleared = Visit.objects.filter(last_recorded_at__lt=cutoff).update(
            last_lat=None, last_lng=None, last_accuracy_m=None, last_recorded_at=None
        )
        inbox, _ = ProcessedEvent.objects.filter(consumer="tracking", event_type="tracking.ping", processed_at__lt=cutoff).delete()
    return points, cleared, inbox
