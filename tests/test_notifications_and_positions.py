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
