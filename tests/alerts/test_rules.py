"""Each staff-alert rule of the ``staff-alerts`` consumer fires exactly once, respects its setting and carries account context.

The handler is driven by replaying the outbox through it (``rebuild``, as ``replay_events staff-alerts
--source outbox`` does): a second replay is the worst redelivery there is (every event again, the
read model reset), and must add nothing.  ``test_pipeline.py`` does the same through the real broker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, CancellationMark
from alerts.projections import flood_window
from jobs.services import job_cancel
from marketplace.errors import ServiceError
from marketplace.events.outbox import emit
from payments.events import PAYMENT_FAILED, PaymentFailedV2
from tests.factories import offer, post_job, pro
from tests.quotes.helpers import accept, submit
from tests.scheduling.helpers import awarded_job
from tests.tracking.helpers import move_appointment, scheduled_job
from tracking.services import visit_act, visit_flag_drift

from .helpers import alert_settings, clear_of_window_edge, replay_alerts

pytestmark = pytest.mark.django_db


def alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


def test_a_new_customers_first_job_raises_one_alert_with_their_account_context(customer) -> None:
    first = post_job(customer, title="Boiler will not fire", budget_max=400)
    post_job(customer, title="Second job")
    replay_alerts()
    [alert] = alerts(Alert.Kind.FIRST_JOB)
    assert alert.job_id == first.pk and alert.customer_id == customer.pk and alert.severity == "info" and alert.status == "open"
    assert "Boiler will not fire" in alert.title and "cust_a" in alert.title
    assert "£50.00–£400.00" in alert.body and "Account 0 day(s) old" in alert.body
    context = alert.context["customer"]
    assert context["username"] == "cust_a" and context["email"] == "a@example.com"
    assert context["jobs_posted"] == 2 and context["account_age_days"] == 0
    assert alert.context["job"]["title"] == "Boiler will not fire" and alert.context["job"]["trade"] == "Plumbing"
    assert alert.context["amount"] == "400.00" and alert.event_id is not None

    replay_alerts()  # every event again: nothing new
    assert len(alerts(Alert.Kind.FIRST_JOB)) == 1


def test_a_customer_who_had_posted_before_raises_no_first_job_alert(customer) -> None:
    post_job(customer)
    replay_alerts()
    Alert.objects.all().delete()
    post_job(customer, title="Another")  # their second job: not a first job, whatever order events come in
    replay_alerts()
    assert [a.job_id for a in alerts(Alert.Kind.FIRST_JOB)] == [customer.jobs.order_by("pk").first().pk]


def test_a_declined_card_raises_one_payment_alert_with_the_amount(customer) -> None:
    job = post_job(customer, title="New consumer unit")
    bob = pro("bobpay")
    offer(job, bob)
    version = submit(job, bob)
    with pytest.raises(ServiceError):
        accept(version, customer, token="tok_decline")
    replay_alerts()
    replay_alerts()
    [alert] = alerts(Alert.Kind.PAYMENT_FAILED)
    deposit = version.options.get().deposit
    assert alert.severity == "warning" and alert.job_id == job.pk and alert.customer_id == customer.pk
    assert f"£{deposit}" in alert.title and "deposit" in alert.title and "New consumer unit" in alert.title
    assert "declined" in alert.body
    assert alert.context["amount"] == str(deposit) and alert.context["stage"] == "deposit"
    assert alert.context["customer"]["username"] == "cust_a" and alert.context["tradesperson"] is None  # nobody is awarded yet


def test_a_late_arrival_raises_one_running_late_alert_and_respects_the_threshold(customer) -> None:
    s = scheduled_job(customer, owner_name="latebob")
    move_appointment(s.appointment, timezone.now() - timedelta(minutes=40))
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    visit_act(job=s.job, actor=s.owner, action="arrived")  # 40 minutes after the start

    with alert_settings(LATE_MINUTES=45):
        replay_alerts()
    assert alerts(Alert.Kind.RUNNING_LATE) == []

    with alert_settings(LATE_MINUTES=15):
        replay_alerts()
        replay_alerts()
    [alert] = alerts(Alert.Kind.RUNNING_LATE)
    assert "Latebob Ltd arrived late, 40 min after the start" in alert.title
    assert alert.tradesperson_id == s.owner.pk and alert.customer_id == customer.pk and alert.job_id == s.job.pk
    assert alert.context["tradesperson"]["business_name"] == "Latebob Ltd" and 39.5 < alert.context["late_minutes"] < 41


def test_an_eta_drift_raises_the_running_late_alert_once_and_a_late_arrival_adds_nothing(customer) -> None:
    s = scheduled_job(customer, owner_name="driftbob")
    move_appointment(s.appointment, timezone.now() + timedelta(minutes=5))
    visit_act(job=s.job, actor=s.owner, action="on_the_way")
    assert visit_flag_drift(job_id=s.job.pk, eta_at=timezone.now() + timedelta(minutes=35), eta_minutes=35) is not None
    replay_alerts()
    [alert] = alerts(Alert.Kind.RUNNING_LATE)
    assert "Driftbob Ltd expects to arrive late, 30 min after the start" in alert.title

    move_appointment(s.appointment, timezone.now() - timedelta(minutes=30))
    visit_act(job=s.job, actor=s.owner, action="arrived")
    replay_alerts()
    assert alerts(Alert.Kind.RUNNING_LATE) == [alert]  # one alert per job, whichever signal came first


def test_a_flood_of_cancellations_raises_one_alert_per_window(customer, other_customer) -> None:
    clear_of_window_edge(60)
    jobs = [post_job(customer if i % 2 else other_customer, title=f"Job {i}") for i in range(4)]
    for job in jobs[:3]:
        job_cancel(job=job, actor=job.customer, reason="changed my mind")

    with alert_settings(CANCELLATION_FLOOD_COUNT=4, CANCELLATION_FLOOD_MINUTES=60):
        replay_alerts()
    assert alerts(Alert.Kind.CANCELLATION_FLOOD) == []  # three is under the threshold
    assert CancellationMark.objects.count() == 3

    with alert_settings(CANCELLATION_FLOOD_COUNT=3, CANCELLATION_FLOOD_MINUTES=60):
        replay_alerts()
        job_cancel(job=jobs[3], actor=jobs[3].customer)  # a fourth in the same window: still one alert
        replay_alerts()
    [alert] = alerts(Alert.Kind.CANCELLATION_FLOOD)
    start, end = flood_window(timezone.now(), 60)
    assert alert.severity == "critical" and alert.dedupe_key == f"cancellation_flood:{start:%Y-%m-%dT%H:%MZ}"
    assert alert.title == f"3 jobs cancelled between {start:%H:%M} and {end:%H:%M} UTC"
    assert alert.context["cancelled_job_ids"] == [j.pk for j in jobs[:3]] and alert.customer_id is None


def test_flood_windows_are_fixed_and_epoch_aligned() -> None:
    at = timezone.now().replace(hour=10, minute=44, second=59)
    start, end = flood_window(at, 15)
    assert (start.hour, start.minute, end.hour, end.minute) == (10, 30, 10, 45)
    assert flood_window(at + timedelta(seconds=1), 15)[0] == end


def test_an_unpaid_balance_is_critical_and_names_the_tradesperson(customer) -> None:
    job = awarded_job(customer, pro("balbob"))
    with transaction.atomic():  # what payments.services emits when the balance cannot be taken after completion
        emit(
            PAYMENT_FAILED,
            aggregate_id=job.pk,
            data=PaymentFailedV2(job_id=job.pk, payment_id=1, stage="balance", amount="96.00", reason="insufficient_funds"),
        )
    replay_alerts()
    [alert] = alerts(Alert.Kind.PAYMENT_FAILED)
    assert alert.severity == "critical" and alert.dedupe_key == f"payment_failed:job:{job.pk}:balance"
    assert alert.body == "The gateway said: insufficient funds. The job is done and the balance is unpaid."
    assert job.awarded_bid is not None and alert.tradesperson_id == job.awarded_bid.tradesperson_id
    assert alert.context["tradesperson"]["business_name"] == "Balbob Ltd"
    assert alert.customer_id == customer.pk  # from the job: this event carries no customer_id
