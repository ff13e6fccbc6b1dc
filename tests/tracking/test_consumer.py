"""The ``tracking`` consumer with the real broker: ETA from approaching pings, geofence arrival once, running late once,
the customer's live position, and the purge of old pings."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from marketplace.asgi import application
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.notifications.models import Notification
from marketplace.realtime.streams import can_subscribe
from tests.events.pipeline import relay_all, run_consumer_until
from tests.helpers import client_for
from tracking.models import TrackPoint, Visit
from tracking.projections import TrackingHandler
from tracking.services import visit_act

from .helpers import Scheduled, close, move_appointment, scheduled_job, set_off, trip

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = get_consumer("tracking")


def send(s: Scheduled, pings: list[dict[str, Any]]) -> None:
    response = client_for(s.owner).post("/api/tracking/pings/", {"job": s.job.pk, "pings": pings}, format="json")
    assert response.status_code == 202 and response.json()["accepted"] == len(pings), response.content


def visit(s: Scheduled) -> Visit:
    return Visit.objects.get(job=s.job)


def consume_until_fix(s: Scheduled, last: dict[str, Any], **kw: Any) -> None:
    at = last["recorded_at"]
    run_consumer_until(lambda: (v := visit(s)).last_recorded_at is not None and v.last_recorded_at.isoformat() == at, SPEC, **kw)


def emitted(s: Scheduled, event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in OutboxEvent.objects.filter(key=str(s.job.pk), event_type=event_type).values_list("envelope", flat=True)]


def test_the_eta_follows_the_tradesperson_as_they_approach(broker, customer) -> None:
    s = scheduled_job(customer)
    set_off(s)
    start = timezone.now() - timedelta(minutes=6)
    pings = trip(start_km=6, step_km=0.5, every_s=30, count=12, start=start)  # 60 km/h, from 6 km to 0.5 km

    send(s, pings[:8])
    consume_until_fix(s, pings[7])
    first = visit(s)
    assert close(first.eta_distance_km or 0, 2.5, 0.01)
    assert close(first.speed_kmh or 0, 60, 0.5) and first.speed_samples == 7
    assert close(first.eta_minutes or 0, 2.5 * 1.3 / 60 * 60, 0.05) and not first.eta_late
    body = client_for(customer).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert body["eta"]["minutes"] == round(first.eta_minutes or 0, 1) and body["eta"]["late"] is False
    assert body["position"]["at"] == pings[7]["recorded_at"].replace("+00:00", "Z")
    assert len(body["trail"]) == 8 and body["trail"][0][0] == pings[0]["lat"]

    late_fix = dict(pings[2], lat=51.7)  # older than the last one: out of order
    send(s, [*pings[8:], late_fix])
    consume_until_fix(s, pings[11])
    second = visit(s)
    assert close(second.eta_distance_km or 0, 0.5, 0.01) and (second.eta_minutes or 0) < (first.eta_minutes or 0)
    assert second.last_lat == pings[11]["lat"]  # the out-of-order fix did not move the marker back
    assert TrackPoint.objects.filter(visit=second).count() == 12  # and it is not a new point of the trail either
    assert second.stage == "on_the_way" and emitted(s, "visit.arrived") == []


def test_the_geofence_arrives_for_the_tradesperson_once_even_when_pings_are_redelivered(broker, customer) -> None:
    s = scheduled_job(customer)
    set_off(s)
    pings = trip(start_km=1.0, step_km=0.25, every_s=20, count=6, start=timezone.now() - timedelta(minutes=3))  # ends 250 m past
    send(s, pings)
    consume_until_fix(s, pings[-1])
    v = visit(s)
    assert v.stage == "arrived" and v.arrived_auto and v.arrived_at is not None
    [arrived] = emitted(s, "visit.arrived")
    assert arrived["auto"] is True and arrived["distance_m"] <= 150 and arrived["worker_id"] == s.worker.pk

    # Everything again: a consumer group that lost its inbox and its read model sees every ping a second time.
    ProcessedEvent.objects.filter(consumer="tracking").delete()
    TrackingHandler().reset()
    consume_until_fix(s, pings[-1], group="tracking-replay")
    assert len(emitted(s, "visit.arrived")) == 1
    body = client_for(customer).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert body["stage"] == "arrived" and body["arrived_auto"] is True and body["position"] is None
    assert [t["auto"] for t in body["timeline"]] == [False, True]

    # The step reaches the customer once: one notification, however often the event comes.
    relay_all()
    run_consumer_until(lambda: Notification.objects.filter(recipient=customer, kind="visit_arrived").exists(), SPEC)
    ProcessedEvent.objects.filter(consumer="tracking").delete()
    run_consumer_until(
        lambda: ProcessedEvent.objects.filter(consumer="tracking", event_type="visit.arrived").exists(), SPEC, group="tracking-again"
    )
    assert Notification.objects.filter(recipient=customer, kind="visit_arrived").count() == 1
    assert Notification.objects.filter(recipient=customer, kind="visit_on_the_way").count() == 1


def test_running_late_is_raised_once_and_the_customer_is_told_the_new_eta(broker, customer) -> None:
    s = scheduled_job(customer)
    move_appointment(s.appointment, timezone.now() + timedelta(minutes=5))
    set_off(s)
    pings = trip(start_km=20, step_km=0.25, every_s=30, count=4, start=timezone.now() - timedelta(minutes=3))  # 30 km/h, 20 km out
    send(s, pings[:2])
    consume_until_fix(s, pings[1])
    assert visit(s).eta_late and emitted(s, "tracking.eta_drift") == []  # one speed sample is not enough to cry wolf
    send(s, pings[2:])
    consume_until_fix(s, pings[3])
    [drift] = emitted(s, "tracking.eta_drift")
    assert drift["late_minutes"] > 30 and drift["eta_minutes"] > 40 and visit(s).drift_alerted_at is not None

    more = trip(start_km=19, step_km=0.25, every_s=30, count=3, start=timezone.now() - timedelta(seconds=80))
    send(s, more)
    consume_until_fix(s, more[-1])
    assert len(emitted(s, "tracking.eta_drift")) == 1

    relay_all()
    run_consumer_until(lambda: Notification.objects.filter(kind="eta_drift").count() == 2, SPEC)
    told = Notification.objects.get(recipient=customer, kind="eta_drift")
    assert "New ETA" in told.body and "after the appointment start" in told.body and told.url == f"/jobs/{s.job.pk}/#tracking"
    assert Notification.objects.filter(recipient=s.owner, kind="eta_drift").count() == 1


def test_only_the_customer_on_the_way_and_the_business_may_watch_the_position(customer, other_customer) -> None:
    s = scheduled_job(customer)
    stream = f"track.{s.job.pk}"
    assert can_subscribe(s.owner, stream)
    assert not can_subscribe(customer, stream)  # not on the way yet
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    assert can_subscribe(customer, stream)
    assert not can_subscribe(other_customer, stream) and not can_subscribe(customer, "track.x1")
    visit_act(job=s.job, actor=s.owner, action="arrived")
    assert not can_subscribe(customer, stream) and can_subscribe(s.owner, stream)


def test_a_position_reaches_the_customers_page_live(broker, customer) -> None:
    s = scheduled_job(customer)
    set_off(s)
    pings = trip(start_km=3, step_km=0.5, every_s=30, count=2, start=timezone.now() - timedelta(minutes=1))

    def act() -> None:
        send(s, pings)
        consume_until_fix(s, pings[-1])
        connection.close()

    async def scenario() -> dict[str, Any]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = customer
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"track.{s.job.pk}"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(act, thread_sensitive=False)()
        while True:  # one push per batch and job: at least the newest fix arrives
            message = await ws.receive_json_from(timeout=5)
            newest = message["event"] == "tracking.position" and message["data"]["at"] == pings[-1]["recorded_at"].replace("+00:00", "Z")
            if message["stream"] == f"track.{s.job.pk}" and newest:
                break
        await ws.disconnect()
        return dict(message)

    last = async_to_sync(scenario)()["data"]
    assert last["lat"] == pings[1]["lat"] and last["job_id"] == s.job.pk and last["accuracy_m"] == 10.0
    assert close(last["eta"]["distance_km"], 2.5, 0.01) and last["eta"]["minutes"] > 0 and last["eta"]["late"] is False
    assert close(last["eta"]["speed_kmh"], 60, 0.5)  # 0.5 km in 30 s


PURGEABLE = [("tracking", "tracking.ping"), ("tracking", "visit.arrived"), ("audit", "tracking.ping")]


def test_purge_pings_deletes_the_trail_past_the_retention(customer) -> None:
    s = scheduled_job(customer)
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    v = visit(s)
    now = timezone.now()
    for hours in (30, 25, 2, 0):
        at = now - timedelta(hours=hours)
        TrackPoint.objects.create(visit=v, lat=51.5, lng=-0.12, accuracy_m=5, recorded_at=at, received_at=at)
    Visit.objects.filter(pk=v.pk).update(last_lat=51.5, last_lng=-0.12, last_recorded_at=now - timedelta(hours=25))
    inbox = [ProcessedEvent.objects.create(consumer=c, event_id=uuid.uuid4(), event_type=t) for c, t in PURGEABLE]
    ProcessedEvent.objects.filter(pk__in=[row.pk for row in inbox]).update(processed_at=now - timedelta(hours=30))
    out = StringIO()
    call_command("purge_pings", stdout=out)
    assert "Purged 2 trail points older than 24 h" in out.getvalue()
    # The consumer's inbox rows for old pings go too (nothing else's).
    assert list(ProcessedEvent.objects.filter(pk__in=[row.pk for row in inbox]).values_list("consumer", "event_type")) == PURGEABLE[1:]
    assert TrackPoint.objects.filter(visit=v).count() == 2 and visit(s).last_lat is None
    call_command("purge_pings", "--older-than-hours", "1", stdout=out)
    assert TrackPoint.objects.filter(visit=v).count() == 1
    with pytest.raises(Exception, match="negative"):
        call_command("purge_pings", "--older-than-hours", "-1")


def test_the_consumer_never_trusts_a_fix_it_remembers_from_a_rolled_back_batch(customer) -> None:
    from django.db import transaction

    from tracking.selectors import utc_iso
    from tracking.services import ping_envelope

    s = scheduled_job(customer)
    set_off(s)
    handler = TrackingHandler()
    worker_id = visit(s).worker_id
    assert worker_id is not None
    now = timezone.now()

    def fix(seconds_ago: int, lat: float) -> Any:
        at = utc_iso(now - timedelta(seconds=seconds_ago))
        data = {"lat": lat, "lng": -0.12, "accuracy_m": 10.0, "recorded_at": at, "speed_mps": None, "heading": None}
        return ping_envelope(job_id=s.job.pk, worker_id=worker_id, ping=data, actor_id=None, now=now)

    with transaction.atomic():
        handler.handle(fix(60, 51.52))
    with pytest.raises(RuntimeError), transaction.atomic():
        handler.handle(fix(10, 51.51))  # remembered by the handler...
        raise RuntimeError("the batch fails")  # ...but never committed
    with transaction.atomic():
        handler.handle(fix(30, 51.515))  # newer than what the database holds: it must move the marker
    v = visit(s)
    assert v.last_lat == 51.515 and v.speed_samples == 1
    assert list(TrackPoint.objects.filter(visit=v).values_list("lat", flat=True)) == [51.52, 51.515]


# --- a trip called off ------------------------------------------------------------------------


def test_cancelling_the_appointment_mid_trip_calls_the_trip_off(broker, customer) -> None:
    """Bob is on the way, sharing his position; Dora cancels the appointment. The consumer puts the visit back to
    scheduled, forgets the position, ETA and trail, and tells both pages; his next pings are refused; a redelivered
    cancellation changes nothing; booked again, he can set off again."""
    from scheduling.services import appointment_book, appointment_cancel
    from tests.scheduling.helpers import future_monday

    s = scheduled_job(customer)
    set_off(s)
    pings = trip(start_km=4, step_km=0.5, every_s=30, count=3, start=timezone.now() - timedelta(minutes=2))
    send(s, pings)
    relay_all()
    consume_until_fix(s, pings[-1])
    assert visit(s).last_lat is not None and TrackPoint.objects.filter(visit=visit(s)).exists()

    appointment_cancel(appointment=s.appointment, actor=customer, reason="Plans changed")
    relay_all()
    run_consumer_until(lambda: visit(s).stage == "scheduled", SPEC)

    v = visit(s)
    assert (v.last_lat, v.last_lng, v.eta_at, v.eta_minutes, v.speed_kmh) == (None, None, None, None, None)
    assert not TrackPoint.objects.filter(visit=v).exists()
    assert [step.stage for step in v.steps.order_by("at", "pk")] == ["on_the_way", "scheduled"]
    (called_off,) = emitted(s, "visit.called_off")
    assert called_off["reason"] == "appointment_cancelled" and called_off["from_stage"] == "on_the_way"
    assert called_off["stage"] == "scheduled" and called_off["customer_id"] == customer.pk
    refused = client_for(s.owner).post("/api/tracking/pings/", {"job": s.job.pk, "pings": pings[-1:]}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "visit_not_active"
    body = client_for(customer).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert body["stage"] == "scheduled" and body["position"] is None and body["trail"] == []

    # Redelivered (the consumer group starts over): the trip is already called off, nothing more is emitted.
    ProcessedEvent.objects.filter(consumer=SPEC.name).delete()
    run_consumer_until(
        lambda: ProcessedEvent.objects.filter(consumer=SPEC.name, event_type="appointment.cancelled").exists(),
        SPEC,
        group=f"again-{uuid.uuid4().hex[:6]}",
    )
    assert len(emitted(s, "visit.called_off")) == 1

    # Booked again: he sets off again like the first time.
    appointment_book(job=s.job, worker=s.worker, starts_at=future_monday(14), duration_minutes=60, actor=customer)
    assert visit_act(job=s.job, actor=s.owner, action="on_the_way").stage == "on_the_way"


def test_cancelling_the_job_after_arrival_calls_the_trip_off_with_that_reason(broker, customer) -> None:
    from jobs.services import job_cancel

    s = scheduled_job(customer)
    set_off(s)
    visit_act(job=s.job, actor=s.owner, action="arrived")
    job_cancel(job=s.job, actor=s.owner, reason="Van broke down")
    relay_all()
    run_consumer_until(lambda: visit(s).stage == "scheduled", SPEC)
    (called_off,) = emitted(s, "visit.called_off")
    assert called_off["reason"] == "job_cancelled" and called_off["from_stage"] == "arrived"


def test_a_trip_booked_again_before_the_cancellation_is_applied_goes_on(customer) -> None:
    """The consumer applies the cancellation after a new appointment was booked: the trip is not called off."""
    from scheduling.services import appointment_book, appointment_cancel
    from tests.scheduling.helpers import future_monday
    from tracking.services import visit_call_off

    s = scheduled_job(customer)
    set_off(s)
    appointment_cancel(appointment=s.appointment, actor=customer)
    appointment_book(job=s.job, worker=s.worker, starts_at=future_monday(14), duration_minutes=60, actor=customer)
    assert visit_call_off(job_id=s.job.pk) is None
    assert visit(s).stage == "on_the_way" and not emitted(s, "visit.called_off")
    # And a visit that has not set off, or has started work, is never called off.
    other = scheduled_job(customer, owner_name="carltrack")
    assert visit_call_off(job_id=other.job.pk) is None
    assert not emitted(other, "visit.called_off")
