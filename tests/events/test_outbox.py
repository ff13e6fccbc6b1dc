"""emit(): events are written with the domain change, in order, or not at all."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from jobs.events import JOB_CANCELLED, JobCancelledV2
from jobs.models import Job
from marketplace.events.models import OutboxEvent
from marketplace.events.outbox import OutsideTransaction, PendingEvent, emit, emit_many
from marketplace.events.schemas import SchemaViolation
from tests.factories import post_job

pytestmark = pytest.mark.django_db


def test_posting_a_job_writes_one_outbox_row_with_sequence_1(customer) -> None:
    job = post_job(customer)
    row = OutboxEvent.objects.get()
    assert (row.event_type, row.topic, row.key, row.sequence) == ("job.posted", "marketplace.jobs", str(job.pk), 1)
    assert row.envelope["data"]["title"] == "Leaky tap"
    assert row.envelope["aggregate_id"] == str(job.pk)
    assert row.published_at is None


def test_emit_outside_a_transaction_is_refused() -> None:
    # pytest-django wraps the test in a transaction; leave it to be outside one.
    with pytest.raises(OutsideTransaction):
        connection.in_atomic_block = False
        try:
            emit(JOB_CANCELLED, aggregate_id=1, data=JobCancelledV2(job_id=1, status="cancelled", reason=""))
        finally:
            connection.in_atomic_block = True


def test_a_rolled_back_change_leaves_no_event(customer) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        post_job(customer)
        raise RuntimeError("boom after the write")
    assert not Job.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_schema_violation_fails_at_the_call_site_and_writes_nothing() -> None:
    with pytest.raises(SchemaViolation, match="job_id"), transaction.atomic():
        emit(JOB_CANCELLED, aggregate_id=3, data=JobCancelledV2(job_id="three", status="cancelled", reason=""))  # type: ignore[typeddict-item]
    assert not OutboxEvent.objects.exists()


def test_emit_many_keeps_order_and_numbers_each_aggregate(customer) -> None:
    with transaction.atomic():
        emit_many(
            [
                PendingEvent(JOB_CANCELLED, 10, {"job_id": 10, "status": "cancelled", "reason": "a"}),
                PendingEvent(JOB_CANCELLED, 11, {"job_id": 11, "status": "cancelled", "reason": "b"}),
                PendingEvent(JOB_CANCELLED, 10, {"job_id": 10, "status": "cancelled", "reason": "c"}),
            ]
        )
    rows = list(OutboxEvent.objects.order_by("id").values_list("key", "sequence", "envelope__data__reason"))
    assert rows == [("10", 1, "a"), ("11", 1, "b"), ("10", 2, "c")]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_aggregate_get_distinct_ordered_sequences(customer) -> None:
    job = post_job(customer)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                with transaction.atomic():
                    emit(JOB_CANCELLED, aggregate_id=job.pk, data=JobCancelledV2(job_id=job.pk, status="x", reason=""))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sequences = list(OutboxEvent.objects.filter(key=str(job.pk)).order_by("id").values_list("sequence", flat=True))
    # Outbox order (what the relay publishes) equals sequence order, with no gaps.
    assert sequences == list(range(1, 42))
