"""The visit's stage machine: steps in order, each an event; skips, strangers and unscheduled jobs refused, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from scheduling.models import Appointment, Worker
from tests.factories import pro
from tests.helpers import client_for, error_code
from tests.scheduling.helpers import awarded_job
from tracking.models import Visit, VisitStep
from tracking.services import visit_act

from .helpers import scheduled_job

pytestmark = pytest.mark.django_db


def act(user: Any, job: Job, action: str) -> Any:
    return client_for(user).post(f"/api/jobs/{job.pk}/visit/", {"action": action}, format="json")


def snapshot() -> tuple[Any, ...]:
    return (
        list(Visit.objects.values_list("pk", "stage", "worker_id", "arrived_at")),
        VisitStep.objects.count(),
        OutboxEvent.objects.count(),
        list(Job.objects.values_list("pk", "status")),
    )


def events_of(job: Job) -> list[str]:
    return list(OutboxEvent.objects.filter(key=str(job.pk)).order_by("id").values_list("event_type", flat=True))


def test_the_tradesperson_walks_the_visit_through_every_step(customer) -> None:
    s = scheduled_job(customer)
    before = len(events_of(s.job))
    body = client_for(s.owner).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert body["stage"] == "scheduled" and body["actions"] == ["on_the_way"] and body["timeline"] == []
    assert body["appointment"]["starts_at"].endswith("Z") and body["destination"] == {"lat": 51.5, "lng": -0.12}

    for action, stage, actions in [
        ("on_the_way", "on_the_way", ["arrived"]),
        ("arrived", "arrived", ["start"]),
        ("start", "working", ["pause", "complete"]),
        ("pause", "paused", ["resume", "complete"]),
        ("resume", "working", ["pause", "complete"]),
        ("complete", "completed", []),
    ]:
        response = act(s.owner, s.job, action)
        assert response.status_code == 200, response.content
        assert response.json()["stage"] == stage and response.json()["actions"] == actions

    s.job.refresh_from_db()
    assert s.job.status == Job.Status.COMPLETED
    assert events_of(s.job)[before:] == [
        "visit.on_the_way",
        "visit.arrived",
        "job.status_changed",
        "visit.paused",
        "visit.resumed",
        "job.status_changed",
    ]
    arrived = OutboxEvent.objects.get(event_type="visit.arrived").envelope["data"]
    assert arrived["auto"] is False and arrived["worker_id"] == s.worker.pk and arrived["customer_id"] == customer.pk
    timeline = client_for(customer).get(f"/api/jobs/{s.job.pk}/visit/").json()["timeline"]
    assert [t["stage"] for t in timeline] == ["on_the_way", "arrived", "working", "paused", "working", "completed"]
    visit = Visit.objects.get(job=s.job)
    assert visit.worker_id == s.worker.pk and visit.started_at and visit.completed_at and not visit.arrived_auto


@pytest.mark.parametrize(
    ("done", "action", "hint"),
    [
        ([], "arrived", "On the way"),
        ([], "complete", "On the way"),
        (["on_the_way"], "start", "arrived first"),
        (["on_the_way"], "complete", "arrived first"),
        (["on_the_way", "arrived"], "pause", "Start the work"),
        (["on_the_way", "arrived", "start", "pause"], "start", "resume or complete"),
        (["on_the_way", "arrived", "start", "complete"], "on_the_way", "completed"),
    ],
)
def test_a_skipped_step_is_refused_with_a_clear_409_and_writes_nothing(customer, done: list[str], action: str, hint: str) -> None:
    s = scheduled_job(customer)
    for step in done:
        visit_act(job=s.job, actor=s.owner, action=step)
    before = snapshot()
    response = act(s.owner, s.job, action)
    assert response.status_code == 409 and error_code(response) == "status_skip"
    assert hint in response.json()["error"]["message"]
    assert snapshot() == before


def test_only_the_assigned_business_may_act(customer, other_customer) -> None:
    s = scheduled_job(customer)
    stranger = pro("zedtrack")
    before = snapshot()
    assert act(customer, s.job, "on_the_way").status_code == 403
    assert act(other_customer, s.job, "on_the_way").status_code == 404
    assert act(stranger, s.job, "on_the_way").status_code == 404  # cannot even see the job
    assert client_for(None).post(f"/api/jobs/{s.job.pk}/visit/", {"action": "on_the_way"}, format="json").status_code == 403
    assert snapshot() == before

    # The business's booked worker with a login may; another worker of the same business may not.
    employee = User.objects.create_user("empltrack", password="pw-123456-x", role=User.Role.TRADESPERSON)
    other = Worker.objects.create(owner=s.owner, user=employee, name="Employee")
    Appointment.objects.filter(pk=s.appointment.pk).update(worker=other)
    colleague = User.objects.create_user("colltrack", password="pw-123456-x", role=User.Role.TRADESPERSON)
    Worker.objects.create(owner=s.owner, user=colleague, name="Colleague")
    assert act(colleague, s.job, "on_the_way").status_code == 404
    response = act(employee, s.job, "on_the_way")
    assert response.status_code == 200 and response.json()["stage"] == "on_the_way"
    assert VisitStep.objects.get(visit__job=s.job).actor_id == employee.pk
    assert Visit.objects.get(job=s.job).worker_id == other.pk


def test_setting_off_needs_a_booked_appointment_and_a_double_tap_changes_nothing(customer) -> None:
    owner = pro("bobawarded")
    job = awarded_job(customer, owner)
    before = snapshot()
    response = act(owner, job, "on_the_way")
    assert response.status_code == 409 and error_code(response) == "not_scheduled"
    assert snapshot()[1:] == before[1:]

    s = scheduled_job(customer, "bobtwice")
    assert act(s.owner, s.job, "on_the_way").status_code == 200
    after_first = snapshot()
    assert act(s.owner, s.job, "on_the_way").status_code == 200
    assert snapshot() == after_first


def test_a_cancelled_job_has_no_visit_to_update(customer) -> None:
    from jobs.services import job_cancel

    s = scheduled_job(customer)
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    job_cancel(job=s.job, actor=customer, reason="changed my mind")
    response = act(s.owner, s.job, "arrived")
    assert response.status_code == 409 and error_code(response) == "job_not_active"


def test_the_customer_sees_the_position_only_while_on_the_way(customer) -> None:
    from django.utils import timezone

    s = scheduled_job(customer)
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    now = timezone.now()
    Visit.objects.filter(job=s.job).update(
        last_lat=51.51, last_lng=-0.12, last_accuracy_m=8, last_recorded_at=now, eta_minutes=5, eta_at=now
    )
    seen = client_for(customer).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert seen["position"]["lat"] == 51.51 and seen["eta"]["minutes"] == 5 and seen["actions"] == []
    visit_act(job=s.job, actor=s.owner, action="arrived")
    hidden = client_for(customer).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert hidden["stage"] == "arrived" and hidden["position"] is None and hidden["trail"] == [] and hidden["eta"] is None
    own = client_for(s.owner).get(f"/api/jobs/{s.job.pk}/visit/").json()
    assert own["position"]["lat"] == 51.51  # the tradesperson still sees their own
