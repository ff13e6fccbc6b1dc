"""Both sides see the cancellation and no-show rules before they act (issue 19, item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from jobs.models import Job
from tests.factories import pro
from tests.scheduling.test_job_cancel import booked_soon
from tracking.services import visit_act

pytestmark = pytest.mark.django_db


def test_the_job_page_says_until_when_cancelling_is_free_and_what_it_costs_after(customer):
    job, appointment = booked_soon(customer, "pagebob", 48)
    client = Client()
    client.force_login(customer)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Cancelling is <strong>free until" in html
    assert "after that it costs £17.40 from your deposit" in html  # half the £34.80 deposit
    assert "Moving the appointment less than 24 hours before it starts counts as late too." in html
    assert "hasn't arrived 30 minutes after the start, you can cancel free" in html

    # Within 24 h of the start it costs the fee now, and the confirmation says so before the customer acts.
    with time_machine.travel(appointment.starts_at - timedelta(hours=2), tick=False):
        html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Cancelling now costs <strong>£17.40</strong>" in html
    assert "It costs £17.40 from your deposit." in html
    assert "Why: Cancelled less than 24 hours before the appointment" in html


def test_the_tradesperson_sees_customer_not_here_only_after_waiting_and_with_the_fee(customer):
    job, appointment = booked_soon(customer, "leadbob", 8)
    bob = job.tradesperson
    assert bob is not None
    client = Client()
    client.force_login(bob)
    html = client.get(f"/leads/{job.pk}/").content.decode()
    assert 'id="absent-form"' not in html
    assert "if you haven't arrived 30 minutes after the start, the customer may cancel free" in html
    arrived = appointment.starts_at - timedelta(minutes=5)
    with time_machine.travel(arrived, tick=False):
        visit_act(job=job, actor=bob, action="on_the_way")
        visit_act(job=job, actor=bob, action="arrived")
    with time_machine.travel(arrived + timedelta(minutes=5), tick=False):
        html = client.get(f"/leads/{job.pk}/").content.decode()
    assert 'id="absent-form"' not in html and "you can cancel with a £30.00 call-out fee" in html
    with time_machine.travel(arrived + timedelta(minutes=16), tick=False):
        html = client.get(f"/leads/{job.pk}/").content.decode()
        assert "Customer not here: cancel with £30.00 call-out fee" in html
        done = client.post(f"/leads/{job.pk}/work/absent/", follow=True).content.decode()
    assert "the customer was not there" in done
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED
    # Someone else's lead: no such action.
    other = Client()
    other.force_login(pro("strangerbob"))
    assert other.post(f"/leads/{job.pk}/work/absent/").status_code in (403, 404)
