"""The audit consumer: every event on every declared topic lands once in an append-only log.

Real broker, relay and runner: a job is posted, bid on, accepted (deposit held), done and paid,
which puts events on marketplace.jobs and snapshots plus a tombstone on the compacted
marketplace.payments topic.  The log must match the outbox event for event, refuse UPDATE and
DELETE in the database, and stay the same when the events are delivered again.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from django.contrib.admin.sites import site
from django.db import IntegrityError, transaction
from django.test import Client

from marketplace.accounts.models import User
from marketplace.audit.admin import AuditLogAdmin
from marketplace.audit.models import AuditLog
from marketplace.events.kafka import make_consumer
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from marketplace.events.topics import TOPICS, kafka_topic
from tests.events.pipeline import relay_all, run_consumer_until
from tests.quotes.helpers import pay_out
from tests.quotes.test_payments import booked, finish

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_audit_consumer_reads_every_declared_topic_but_no_dead_letters() -> None:
    spec = get_consumer("audit")
    assert set(spec.topic_names) == {str(t) for t in TOPICS}
    assert not any(name.endswith(".dlq") for name in spec.topic_names)


def test_every_event_is_logged_once_append_only_and_replay_safe(broker: Any, customer: User) -> None:
    job, bob, _ = booked(customer, name="bobaudit")
    with transaction.atomic():  # as the payments consumer runs it
        finish(job, bob)
    pay_out(bob)  # settled (and so tombstoned) once the tradesperson is paid out too
    relay_all()
    outbox = {row.event_id: row for row in OutboxEvent.objects.exclude(event_type="tracking.ping")}
    assert {row.topic for row in outbox.values()} >= {"marketplace.jobs", "marketplace.payments"}
    assert any(row.tombstone for row in outbox.values())

    spec = get_consumer("audit")
    run_consumer_until(lambda: AuditLog.objects.count() >= len(outbox), spec)
    logged = {row.event_id: row for row in AuditLog.objects.all()}
    assert set(logged) == set(outbox)
    for event_id, row in logged.items():
        source = outbox[event_id]
        assert (row.topic, row.key, row.event_type, row.sequence, row.tombstone) == (
            kafka_topic(source.topic),  # where it was read from: the topic as the broker names it
            source.key,
            source.event_type,
            source.sequence,
            source.tombstone,
        )
        assert row.payload == source.envelope
        assert row.occurred_at is not None and row.recorded_at >= row.occurred_at
    awarded = AuditLog.objects.get(event_type="job.awarded")
    assert awarded.aggregate_type == "job" and awarded.aggregate_id == str(job.pk) and awarded.actor_id == customer.pk

    # Each row names the message it was read from, and that message on the broker is this event.
    positions = {(row.topic, row.partition, row.offset) for row in logged.values()}
    assert len(positions) == len(logged) and all(p is not None and o is not None for _, p, o in positions)
    for row in sorted(logged.values(), key=lambda r: r.sequence)[:6]:
        assert row.partition is not None and row.offset is not None
        assert read_event_id(row.topic, row.partition, row.offset) == str(row.event_id), row

    # Append-only, whatever code tries.
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=awarded.pk).update(event_type="job.cancelled")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditLog.objects.filter(pk=awarded.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        awarded.payload = {}
        awarded.save()
    assert AuditLog.objects.get(pk=awarded.pk).event_type == "job.awarded"

    # Redelivery past a lost inbox (a new group from the start of every topic) adds nothing.
    count = AuditLog.objects.count()
    ProcessedEvent.objects.filter(consumer="audit").delete()
    run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer="audit").count() >= count, spec, group="audit-again")
    assert AuditLog.objects.count() == count


def read_event_id(topic: str, partition: int, offset: int) -> str | None:
    """The event_id header of the message at (topic, partition, offset) on the broker."""
    consumer = make_consumer(f"audit-check-{uuid.uuid4().hex[:6]}", "audit-check", **{"enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        message = consumer.poll(10)
        assert message is not None and message.error() is None and message.offset() == offset
        raw = dict(message.headers() or []).get("event_id")
        return raw.decode() if isinstance(raw, bytes) else raw
    finally:
        consumer.close()


def test_admin_is_read_only_with_filters_and_search(broker: Any, customer: User) -> None:
    job, _, _ = booked(customer, name="bobadmin")
    relay_all()
    run_consumer_until(lambda: AuditLog.objects.filter(event_type="job.awarded").exists(), get_consumer("audit"))
    staff = User.objects.create_superuser("auditor", "auditor@example.com", "pw-123456-x")
    web = Client()
    web.force_login(staff)
    listing = web.get("/admin/audit/auditlog/", {"q": str(job.pk)})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "job.posted" in html and "job.awarded" in html
    assert web.get("/admin/audit/auditlog/", {"event_type": "job.awarded"}).status_code == 200
    assert web.get("/admin/audit/auditlog/", {"topic": "marketplace.jobs"}).status_code == 200
    row = AuditLog.objects.get(event_type="job.awarded")
    detail = web.get(f"/admin/audit/auditlog/{row.pk}/change/")
    assert detail.status_code == 200 and str(row.event_id) in detail.content.decode()
    assert web.post(f"/admin/audit/auditlog/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert web.get("/admin/audit/auditlog/add/").status_code == 403
    assert isinstance(site._registry[AuditLog], AuditLogAdmin)
