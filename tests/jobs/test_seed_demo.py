"""The demo data is a living marketplace: every demo job reaches tradespeople through matching."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from jobs.models import Bid, Job
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from tests.events.pipeline import relay_all, run_consumer_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_jobs_fan_out_to_nearby_tradespeople(broker, capsys) -> None:
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # a second run changes nothing
    assert Job.objects.count() == 7 and Bid.objects.count() == 3
    relay_all()
    runner = ConsumerRunner(get_consumer("matching"))
    run_consumer_until(lambda: runner.stats.processed == 7, runner=runner)  # every job.posted handled
    assert runner.stats.dead_lettered == 0
    fan_out = dict(Job.objects.annotate(n=Count("leads")).values_list("title", "n"))
    assert all(n >= 1 for n in fan_out.values()), fan_out
    with capsys.disabled():
        print(f"\ndemo fan-out (leads per job): {fan_out}")
