"""The inbox updates live: a new alert is pushed to ``staff.alerts`` after it commits; only staff may listen."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.utils import timezone

from alerts.services import alert_raise
from marketplace.asgi import application
from marketplace.realtime.streams import can_subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_active_staff_may_watch_the_inbox(customer, django_user_model) -> None:
    staff = django_user_model.objects.create_user("desk", "desk@example.com", "pw-123456-x", is_staff=True)
    assert can_subscribe(staff, "staff.alerts")
    assert not can_subscribe(staff, "staff.other")
    assert not can_subscribe(customer, "staff.alerts")
    staff.is_active = False
    assert not can_subscribe(staff, "staff.alerts")


def test_a_new_alert_reaches_the_open_inbox(django_user_model) -> None:
    staff = django_user_model.objects.create_user("desk2", "desk2@example.com", "pw-123456-x", is_staff=True)

    def raise_one() -> None:
        alert_raise(kind="cancellation_flood", severity="critical", key="live-1", title="Live flood", occurred_at=timezone.now())
        connection.close()

    async def scenario() -> dict[str, Any]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = staff
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": "staff.alerts"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(raise_one, thread_sensitive=False)()
        message = await ws.receive_json_from(timeout=5)
        await ws.disconnect()
        return dict(message)

    message = async_to_sync(scenario)()
    assert message["stream"] == "staff.alerts" and message["event"] == "alert.raised"
    assert message["data"]["title"] == "Live flood" and message["data"]["severity"] == "critical"
    assert message["data"]["url"].startswith("/admin/alerts/alert/")
