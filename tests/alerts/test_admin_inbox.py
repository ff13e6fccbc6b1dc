"""The staff alerts inbox in Django admin: filters, the alert page with its context and links, acknowledge and resolve."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_raise
from tests.factories import post_job

from .helpers import replay_alerts

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(customer) -> list[Alert]:
    job = post_job(customer, title="Dripping tap")
    replay_alerts()  # the first-job alert, with context
    late = alert_raise(
        kind=Alert.Kind.RUNNING_LATE, severity="warning", key="job:999", title="Late for job 999", occurred_at=timezone.now(), job_id=job.pk
    )
    flood = alert_raise(kind=Alert.Kind.CANCELLATION_FLOOD, severity="critical", key="w1", title="Flood", occurred_at=timezone.now())
    assert late is not None and flood is not None
    return [Alert.objects.get(kind="first_job"), late, flood]


def test_the_inbox_lists_and_filters_alerts(admin_client, inbox) -> None:
    url = reverse("admin:alerts_alert_changelist")
    html = admin_client.get(url).content.decode()
    assert all(a.title.replace("'", "&#x27;") in html for a in inbox)
    assert "By severity" in html and "By kind" in html and "By status" in html
    critical = admin_client.get(url, {"severity__exact": "critical"}).content.decode()
    assert "Flood" in critical and "Dripping tap" not in critical
    by_kind = admin_client.get(url, {"kind__exact": "first_job", "status__exact": "open"}).content.decode()
    assert "Dripping tap" in by_kind and "Late for job" not in by_kind
    assert admin_client.get(url, {"q": "Dripping"}).status_code == 200


def test_an_alert_page_shows_its_context_and_links(admin_client, inbox, customer) -> None:
    first = inbox[0]
    html = admin_client.get(reverse("admin:alerts_alert_change", args=[first.pk])).content.decode()
    assert reverse("customer360", args=[customer.pk]) in html and reverse("admin:jobs_job_change", args=[first.job_id]) in html
    assert "account_age_days" in html and "jobs_posted" in html and 'name="_save"' not in html


def test_staff_acknowledge_then_resolve(admin_client, admin_user, inbox) -> None:
    url = reverse("admin:alerts_alert_changelist")
    ids = [a.pk for a in inbox[:2]]
    response = admin_client.post(url, {"action": "acknowledge", "_selected_action": ids}, follow=True)
    assert "Acknowledged 2 alert(s)." in response.content.decode()
    assert set(Alert.objects.filter(pk__in=ids).values_list("status", "acknowledged_by")) == {("acknowledged", admin_user.pk)}
    response = admin_client.post(url, {"action": "resolve", "_selected_action": [a.pk for a in inbox]}, follow=True)
    assert "Resolved 3 alert(s)." in response.content.decode()
    assert set(Alert.objects.values_list("status", "resolved_by")) == {("resolved", admin_user.pk)}
    assert Alert.objects.get(pk=inbox[2].pk).acknowledged_at is not None  # resolving acknowledges too
    response = admin_client.post(url, {"action": "acknowledge", "_selected_action": ids}, follow=True)
    assert "Acknowledged 0 alert(s)." in response.content.decode()  # resolved stays resolved


def test_the_inbox_is_for_staff_only(client, customer, inbox) -> None:
    client.force_login(customer)
    response = client.get(reverse("admin:alerts_alert_changelist"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
