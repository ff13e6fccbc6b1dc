"""Notifications are sent once per (recipient, kind, object); live positions expose missed pushes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import transaction

from marketplace.events.context import consuming
from marketplace.events.envelope import Envelope
from marketplace.notifications.models import Notification
from marketplace.notifications.services import notification_mark_read, notify
from marketplace.realtime import push

pytestmark = pytest.mark.django_db


def test_a_redelivered_event_never_notifies_twice(customer) -> None:
    first = notify(recipient_id=customer.pk, kind="bid", title="New bid", object_key="bid:1")
    again = notify(recipient_id=customer.pk, kind="bid", title="New bid", object_key="bid:1")
    other = notify(recipient_id=customer.pk, kind="bid", title="New bid", object_key="bid:2")
    assert first is not None and again is None and other is not None
    assert Notification.objects.count() == 2
    assert notification_mark_read(recipient_id=customer.pk, notification_ids=[first.pk]) == 1
    assert notification_mark_read(recipient_id=customer.pk) == 1


def _event(seq: int) -> Envelope:
    return Envelope(uuid.uuid4(), "bid.placed", 1, datetime.now(UTC), "job", "7", seq, None, "c", None, {})


def test_each_push_names_the_position_before_it_so_a_gap_is_visible(django_capture_on_commit_callbacks, monkeypatch) -> None:
    sent: list[dict] = []
    monkeypatch.setattr(push, "send_now", lambda items: sent.extend(m for _, m in items))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), consuming("job-live"):
        push.send_on_commit("job.7", _event(3), {"n": 1})
        push.send_on_commit("job.7", _event(5), {"n": 2})  # seq 4 did not concern this stream
        push.send_on_commit("job.7", _event(4), {"n": 3})  # late: position never goes backwards
    assert [(m["seq"], m["prev_seq"]) for m in sent] == [(3, None), (5, 3), (4, 5)]
    # A browser that last saw 3 accepts (5, prev 3); one that saw only 1 would see prev 3 > 1: a gap.
    assert push.positions("job.7") == {"job-live|job:7": 5}


def _job_event(job: int, seq: int) -> Envelope:
    return Envelope(uuid.uuid4(), "lead.offered", 1, datetime.now(UTC), "job", str(job), seq, None, "c", None, {})


def test_pushes_sent_together_name_the_same_positions_as_one_by_one(django_capture_on_commit_callbacks, monkeypatch) -> None:
    """send_all_on_commit (one statement for a bulk handler's pushes) == send_on_commit per push, rows included."""
    from marketplace.realtime.models import LivePosition

    # Streams with an earlier position, a job pushed several times to one stream (out of order
    # once), several streams per event: what a run of lead.offered events makes.
    pushes = [("job.1", 1, 4), ("user.7", 1, 4), ("job.1", 1, 6), ("user.8", 1, 6), ("job.1", 1, 5), ("job.2", 2, 3), ("job.1", 1, 9)]
    sent: dict[str, list[dict]] = {"one-by-one": [], "together": []}
    for source in sent:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), consuming(source):
            push.send_on_commit("job.1", _job_event(1, 2), {})  # positions before the run
            push.send_on_commit("user.8", _job_event(1, 5), {})
        sent[source].clear()
    monkeypatch.setattr(push, "send_now", lambda items: sent[items[0][1]["source"]].extend(m for _, m in items))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), consuming("one-by-one"):
        for stream, job, seq in pushes:
            push.send_on_commit(stream, _job_event(job, seq), {"seq": seq})
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), consuming("together"):
        push.send_all_on_commit([(stream, _job_event(job, seq), {"seq": seq}) for stream, job, seq in pushes])

    def view(messages: list[dict]) -> list[tuple]:
        return [(m["stream"], m["aggregate"], m["seq"], m["prev_seq"], m["data"]["seq"]) for m in messages]

    assert view(sent["together"]) == view(sent["one-by-one"])
    assert [m[3] for m in view(sent["together"])] == [2, None, 4, 5, 6, None, 6]
    rows = {
        source: sorted(LivePosition.objects.filter(source=source).values_list("stream", "aggregate", "last_sequence", "previous_sequence"))
        for source in sent
    }
    assert rows["together"] == rows["one-by-one"]
    assert ("job.1", "job:1", 9, 6) in rows["together"]
