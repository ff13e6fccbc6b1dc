"""The schedule-live handler copes with appointment events that omit the optional ``tradesperson_id``.

The appointment schemas make ``tradesperson_id`` optional (the emitter always sets it today); an event
without it tells the job's awarded tradesperson, who is the booked worker's business.
"""

from __future__ import annotations

import pytest

from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.notifications.models import Notification
from scheduling.projections import ScheduleLiveHandler
from scheduling.services import appointment_book
from tests.factories import pro

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db


def test_a_booking_without_the_tradesperson_tells_the_jobs_awarded_one(customer) -> None:
    bob = pro("bobnotp")
    job = awarded_job(customer, bob)
    appointment_book(job=job, worker=worker_all_week(bob), starts_at=future_monday(10), duration_minutes=60, actor=customer)
    raw = OutboxEvent.objects.filter(event_type="appointment.booked").latest("id").envelope
    del raw["data"]["tradesperson_id"]
    ScheduleLiveHandler().handle(from_dict(raw))
    assert Notification.objects.filter(recipient=bob, kind="appointment_booked").count() == 1
