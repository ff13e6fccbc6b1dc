"""Notification preferences: the API (GET/PUT /api/notifications/preferences/), the settings page, and the
notification centre's channel badges."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace.accounts.models import User
from marketplace.notifications.models import Delivery, NotificationPreferences
from marketplace.notifications.services import notify
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
URL = "/api/notifications/preferences/"
BODY = {"phone": "+447700900123", "important": {"email": True, "sms": True}, "updates": {"email": False, "sms": True}}


def test_defaults_before_anything_is_saved(customer: User) -> None:
    body = client_for(customer).get(URL).json()
    assert body["phone"] == ""
    assert body["important"] == {"in_app": True, "email": True, "sms": True}
    assert body["updates"] == {"in_app": True, "email": True, "sms": False}
    assert "appointment_reminder" in body["important_kinds"] and "payment_failed" in body["important_kinds"]
    assert not NotificationPreferences.objects.exists()  # reading writes nothing


def test_put_saves_and_the_next_notification_follows_it(customer: User) -> None:
    response = client_for(customer).put(URL, {**BODY, "phone": "+44 7700 900123"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "+447700900123" and response.json()["updates"]["email"] is False
    notify(recipient_id=customer.pk, kind="bid", title="New bid", object_key="b1")
    assert sorted(Delivery.objects.values_list("channel", flat=True)) == ["sms"]  # updates: text yes, email no


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "phone": "07700900123"}, "phone"),
        ({**BODY, "phone": "+44abc"}, "phone"),
        ({**BODY, "important": {"email": True}}, "important"),
        ({"phone": ""}, "important"),
    ],
)
def test_bad_input_is_400_in_the_error_shape_and_saves_nothing(customer: User, body: dict[str, Any], field: str) -> None:
    response = client_for(customer).put(URL, body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"]
    assert not NotificationPreferences.objects.exists()


def test_anonymous_is_refused() -> None:
    assert client_for(None).get(URL).status_code == 403
    assert client_for(None).put(URL, BODY, format="json").status_code == 403


def test_the_settings_page_saves_and_shows_errors(customer: User) -> None:
    web = Client()
    web.force_login(customer)
    page = web.get("/notifications/settings/")
    assert page.status_code == 200 and b"a@example.com" in page.content and b'id="no-phone"' in page.content
    bad = web.post("/notifications/settings/", {"phone": "12345", "important_email": "on"})
    assert bad.status_code == 200 and b"international format" in bad.content
    assert not NotificationPreferences.objects.exists()
    ok = web.post("/notifications/settings/", {"phone": "+15551234567", "important_email": "on", "updates_sms": "on"}, follow=True)
    assert ok.status_code == 200 and b"Notification settings saved." in ok.content
    prefs = NotificationPreferences.objects.get(user=customer)
    assert (prefs.phone, prefs.important_email, prefs.important_sms, prefs.updates_email, prefs.updates_sms) == (
        "+15551234567",
        True,
        False,
        False,
        True,
    )
    assert Client().get("/notifications/settings/").status_code == 302  # sign in first


def test_the_notification_centre_shows_channel_badges(customer: User) -> None:
    NotificationPreferences.objects.create(user=customer, phone="+447700900123", updates_sms=True)
    notify(recipient_id=customer.pk, kind="bid", title="New bid", object_key="b1")  # not committed: pending
    web = Client()
    web.force_login(customer)
    html = web.get("/notifications/").content.decode()
    assert 'data-channel="in_app"' in html and 'data-channel="email"' in html and 'data-channel="sms"' in html
    assert "Email · pending" in html
    Delivery.objects.update(status="sent")
    html = web.get("/notifications/").content.decode()
    assert "Email · pending" not in html and "ch-sent" in html
    body = web.get("/notifications.json").json()
    assert [c["channel"] for c in body["notifications"][0]["channels"]] == ["in_app", "email", "sms"]
