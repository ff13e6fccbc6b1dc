"""Notifications API: your own notifications, the unread count, marking read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.notifications.models import Notification
from marketplace.notifications.services import notify
from tests.helpers import client_for, error_code, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(customer, other_customer) -> list[Notification]:
    mine = []
    for n in range(3):
        note = notify(recipient_id=customer.pk, kind="bid.placed", title=f"Bid {n}", body="£120", url="/jobs/1/", object_key=str(n))
        assert note is not None
        Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(minutes=10 - n))
        mine.append(note)
    notify(recipient_id=other_customer.pk, kind="bid.placed", title="Not yours", object_key="x")
    return mine


def test_notifications_are_listed_newest_first_and_paginated(customer, inbox) -> None:
    body = client_for(customer).get("/api/notifications/", {"limit": 2}).json()
    assert body["count"] == 3 and body["next"] is not None
    assert [row["title"] for row in body["results"]] == ["Bid 2", "Bid 1"]
    assert set(body["results"][0]) == {"id", "kind", "title", "body", "url", "created_at", "read_at"}


def test_the_unread_count_is_ones_own(customer, other_customer, inbox) -> None:
    assert client_for(customer).get("/api/notifications/unread-count/").json() == {"unread": 3}
    assert client_for(other_customer).get("/api/notifications/unread-count/").json() == {"unread": 1}


def test_marking_some_read_ignores_other_peoples_ids(customer, other_customer, inbox) -> None:
    theirs = Notification.objects.get(recipient=other_customer)
    response = client_for(customer).post("/api/notifications/read/", {"ids": [inbox[0].pk, theirs.pk]}, format="json")
    assert response.json() == {"marked": 1}
    assert client_for(customer).get("/api/notifications/unread-count/").json() == {"unread": 2}
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_marking_all_read_then_again(customer, other_customer, inbox) -> None:
    api = client_for(customer)
    assert api.post("/api/notifications/read/", {}, format="json").json() == {"marked": 3}
    assert api.post("/api/notifications/read/", format="json").json() == {"marked": 0}
    assert api.get("/api/notifications/").json()["results"][0]["read_at"] is not None
    assert Notification.objects.get(recipient=other_customer).read_at is None


def test_an_empty_id_list_marks_nothing(customer, inbox) -> None:
    assert client_for(customer).post("/api/notifications/read/", {"ids": []}, format="json").json() == {"marked": 0}


@pytest.mark.parametrize("ids", [["one"], [0], "all", [1] * 1001])
def test_bad_ids_are_refused(customer, inbox, ids) -> None:
    before = state()
    response = client_for(customer).post("/api/notifications/read/", {"ids": ids}, format="json")
    assert response.status_code == 400 and error_code(response) == "validation_error"
    assert state() == before
