"""``scheduling.roles.appointment_role``: ``job_role`` plus the worker booked on the job."""

from __future__ import annotations

import pytest

from jobs.roles import JobRole
from scheduling.models import Worker
from scheduling.roles import appointment_role
from scheduling.selectors import booked_appointment
from scheduling.services import appointment_book
from tests.factories import StaffFactory, make_user, pro
from tests.scheduling.helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def test_the_booked_workers_login_is_the_worker_and_everyone_else_keeps_their_job_role(customer) -> None:
    owner = pro("owner")
    job = awarded_job(customer, owner)
    worker = worker_all_week(owner)
    employee = make_user("employee")
    Worker.objects.filter(pk=worker.pk).update(user=employee, role=Worker.Role.TECHNICIAN)
    appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    job.refresh_from_db()
    appointment = booked_appointment(job_id=job.pk)
    assert appointment is not None

    assert appointment_role(employee, job, appointment) is JobRole.WORKER
    assert appointment_role(employee, job, None) is JobRole.NONE  # nothing booked: just a user
    assert appointment_role(owner, job, appointment) is JobRole.TRADESPERSON
    assert appointment_role(customer, job, appointment) is JobRole.CUSTOMER
    assert appointment_role(StaffFactory.create(), job, appointment) is JobRole.STAFF
    assert appointment_role(make_user("stranger"), job, appointment) is JobRole.NONE


def test_a_worker_of_another_business_is_not_the_worker(customer) -> None:
    owner, rival = pro("owner"), pro("rival")
    job = awarded_job(customer, owner)
    worker = worker_all_week(owner)
    appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
    job.refresh_from_db()
    appointment = booked_appointment(job_id=job.pk)
    assert appointment is not None
    rivals_worker = worker_all_week(rival)
    appointment.worker = rivals_worker  # as if the business had changed hands since the booking
    assert appointment_role(rival, job, appointment) is JobRole.NONE
