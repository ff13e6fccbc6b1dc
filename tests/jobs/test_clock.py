"""The clock expires overdue jobs and widens matching for jobs nobody bid on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs import services
from jobs.models import Job
from jobs.periodic import tick
from tests.factories import offer, post_job, pro

pytestmark = pytest.mark.django_db


def test_a_tick_expires_and_widens_only_what_is_due(customer, settings) -> None:
    settings.MATCHING = {**settings.MATCHING, "WIDEN_AFTER_MINUTES": 60}
    overdue = post_job(customer, title="Overdue")
    quiet = post_job(customer, title="No bids for two hours")
    busy = post_job(customer, title="Has a bid")
    fresh = post_job(customer, title="Just posted")
    x = pro("xavier")
    offer(busy, x)
    services.bid_place(job=busy, tradesperson=x, amount=Decimal("100"))
    two_hours_ago = timezone.now() - timedelta(hours=2)
    Job.objects.filter(pk=overdue.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    Job.objects.filter(pk__in=[quiet.pk, busy.pk]).update(updated_at=two_hours_ago)

    assert tick() == (1, 1)
    statuses = dict(Job.objects.values_list("title", "status"))
    assert statuses["Overdue"] == "expired"
    assert Job.objects.get(pk=quiet.pk).match_round == 2
    assert Job.objects.get(pk=busy.pk).match_round == 1 and Job.objects.get(pk=fresh.pk).match_round == 1
    assert tick() == (0, 0)  # widening resets the clock (updated_at); expiry happened once
    call_command("clock", "--once")
