"""The clock's time-based alerts: a job nobody bid on, a tradesperson who has not arrived.  Once each, thresholds from settings."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alerts_check_due
from jobs.models import Job
from tests.factories import offer, post_job, pro
from tests.quotes.helpers import submit
from tests.tracking.helpers import move_appointment, scheduled_job
from tracking.services import visit_act

from .helpers import alert_settings, replay_alerts

pytestmark = pytest.mark.django_db


def backdate(job: Job, minutes: int) -> None:
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_a_job_with_no_bids_after_n_minutes_raises_one_alert(customer) -> None:
    job = post_job(customer, title="Fence panel down")
    backdate(job, 50)
    fresh = post_job(customer, title="Just posted")
    with alert_settings(NO_BIDS_AFTER_MINUTES=60):
        assert alerts_check_due() == 0  # 50 minutes is not 60
    with alert_settings(NO_BIDS_AFTER_MINUTES=45):
        assert alerts_check_due() == 1
        assert alerts_check_due() == 0  # idempotent: one alert per job
    [alert] = Alert.objects.filter(kind=Alert.Kind.NO_BIDS)
    assert alert.job_id == job.pk and alert.job_id != fresh.pk and alert.severity == "warning" and alert.event_id is None
    assert alert.title == "No bids after 50 min: “Fence panel down”"
    assert alert.context["customer"]["jobs_posted"] == 2 and alert.context["minutes"] == 50


def test_a_bid_resolves_the_no_bids_alert(customer) -> None:
    job = post_job(customer)
    backdate(job, 500)
    assert alerts_check_due() == 1
    bob = pro("bobbids")
    offer(job, bob)
    submit(job, bob)  # bid.placed
    replay_alerts()
    alert = Alert.objects.get(kind=Alert.Kind.NO_BIDS)
    assert alert.status == "resolved" and alert.resolution == "A bid arrived." and alert.resolved_by is None
    assert alerts_check_due() == 0


def test_old_jobs_beyond_the_lookback_are_left_alone(customer) -> None:
    backdate(post_job(customer), 60 * 24 * 5)
    with alert_settings(LOOKBACK_HOURS=48):
        assert alerts_check_due() == 0


def test_a_tradesperson_who_has_not_arrived_long_after_the_start_raises_one_alert(customer) -> None:
    s = scheduled_job(customer, owner_name="slowbob")
    move_appointment(s.appointment, timezone.now() - timedelta(minutes=20))
    with alert_settings(LATE_MINUTES=30):
        assert alerts_check_due() == 0
    visit_act(job=s.job, actor=s.owner, action="on_the_way")  # on the way, still not there
    assert alerts_check_due() == 1
    assert alerts_check_due() == 0
    [alert] = Alert.objects.filter(kind=Alert.Kind.RUNNING_LATE)
    assert alert.title.startswith("Slowbob Ltd has not arrived, 20 min after the start") and alert.tradesperson_id == s.owner.pk

    visit_act(job=s.job, actor=s.owner, action="arrived")  # the late arrival's event adds nothing
    replay_alerts()
    assert Alert.objects.filter(kind=Alert.Kind.RUNNING_LATE).count() == 1


def test_an_arrived_tradesperson_is_not_late(customer) -> None:
    s = scheduled_job(customer, owner_name="onbob")
    move_appointment(s.appointment, timezone.now() - timedelta(minutes=20))
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    visit_act(job=s.job, actor=s.owner, action="arrived")
    assert alerts_check_due() == 0


def test_the_clock_command_runs_the_alert_pass(customer) -> None:
    backdate(post_job(customer), 500)
    out = StringIO()
    call_command("clock", "--once", stdout=out)
    assert "raised 1 staff alert(s)" in out.getvalue()
    call_command("clock", "--once", stdout=out)
    assert "raised 0 staff alert(s)" in out.getvalue()
