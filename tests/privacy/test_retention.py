"""Retention (marketplace/privacy): each purge deletes what is past its period in settings.PRIVACY, nothing newer;
the audit log lets only the purge delete its old rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.audit.models import AuditLog
from marketplace.events.models import ProcessedEvent
from marketplace.events.periodic import PERIODIC_TASKS
from marketplace.notifications.models import Notification
from marketplace.privacy.registry import PURGES

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def audit_row(occurred_at: datetime) -> AuditLog:
    return AuditLog.objects.create(
        event_id=uuid.uuid4(),
        topic="marketplace.jobs",
        event_type="job.posted",
        schema_version=3,
        aggregate_type="job",
        aggregate_id="1",
        sequence=1,
        occurred_at=occurred_at,
        payload={},
    )


def test_purge_expired_deletes_only_what_is_past_each_period(customer: User, settings) -> None:
    settings.PRIVACY = {**settings.PRIVACY, "PURGE_BATCH": 2}  # several batches
    with time_machine.travel(NOW - timedelta(days=31), tick=False):
        old_inbox = [ProcessedEvent.objects.create(consumer="c", event_id=uuid.uuid4(), event_type="x") for _ in range(5)]
    with time_machine.travel(NOW - timedelta(days=181), tick=False):
        Notification.objects.create(recipient=customer, kind="k", title="old", dedupe_key="old")
    with time_machine.travel(NOW - timedelta(days=29), tick=False):
        ProcessedEvent.objects.create(consumer="c", event_id=uuid.uuid4(), event_type="x")
        Notification.objects.create(recipient=customer, kind="k", title="recent", dedupe_key="recent")
    audit_row(NOW - timedelta(days=6 * 365 + 3))
    kept = audit_row(NOW - timedelta(days=6 * 365))

    with time_machine.travel(NOW, tick=False):
        out = StringIO()
        call_command("purge_expired", stdout=out)
    assert "events.inbox: purged 5" in out.getvalue() and "audit: purged 1" in out.getvalue()
    assert not ProcessedEvent.objects.filter(pk__in=[p.pk for p in old_inbox]).exists() and ProcessedEvent.objects.count() == 1
    assert list(Notification.objects.values_list("title", flat=True)) == ["recent"]
    assert list(AuditLog.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(PURGES) == ["events.inbox", "events.outbox", "notifications", "audit", "tracking.gps_trails"]
    assert PERIODIC_TASKS["privacy.purge_expired"].every_s == 3600


def test_the_audit_log_still_refuses_any_other_change() -> None:
    row = audit_row(timezone.now() - timedelta(days=10 * 365))
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).delete()  # old, but not through the purge
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditLog.objects.filter(pk=row.pk).update(payload={"edited": True})  # not through a redaction
