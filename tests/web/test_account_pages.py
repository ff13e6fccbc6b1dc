"""Sign-up and the notification centre."""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.accounts.models import User
from marketplace.notifications.models import Notification

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "role": "customer",
    "display_name": "Carol",
    "username": "carol",
    "email": "carol@example.com",
    "password": "a-long-pass-phrase-42",
    "time_zone": "Europe/Paris",
}


def test_a_customer_signs_up_and_is_logged_in(client: Client) -> None:
    response = client.post("/signup/", SIGN_UP, follow=True)
    assert response.redirect_chain == [("/", 302)]
    user = User.objects.get(username="carol")
    assert (user.role, user.display_name, user.time_zone) == ("customer", "Carol", "Europe/Paris")
    assert response.context["user"] == user
    assert b"Post a job" in response.content


def test_a_tradesperson_is_sent_to_finish_their_profile(client: Client) -> None:
    response = client.post("/signup/", {**SIGN_UP, "role": "tradesperson", "time_zone": "Mars/Olympus"}, follow=True)
    assert response.redirect_chain == [("/profile/", 302)]
    assert User.objects.get(username="carol").time_zone == "Europe/London"  # an unknown zone falls back
    assert b"Finish your business profile" in response.content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password": "12345678"}, "password", "too common"),
        ({"password": "carol@example.com"}, "password", "too similar"),
        ({"email": "nope"}, "email", "valid email"),
        ({"username": "bad name!"}, "username", "valid username"),
        ({"role": "admin"}, "role", "Select a valid choice"),
        ({"display_name": ""}, "display_name", "required"),
    ],
)
def test_sign_up_errors_are_inline(client: Client, overrides: dict[str, str], field: str, message: str) -> None:
    response = client.post("/signup/", {**SIGN_UP, **overrides})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not User.objects.filter(username=SIGN_UP["username"]).exists()


def test_a_taken_username_is_shown_on_the_username_field(client: Client, customer: User) -> None:
    response = client.post("/signup/", {**SIGN_UP, "username": customer.username})
    assert "That username is taken." in response.context["form"].errors["username"]


def test_notifications_centre_marks_read(client: Client, customer: User, other_customer: User) -> None:
    for n in range(3):
        Notification.objects.create(recipient=customer, kind="bid", title=f"Bid {n}", url="/jobs/1/", dedupe_key=f"c{n}")
    Notification.objects.create(recipient=other_customer, kind="bid", title="Not yours", dedupe_key="o1")
    client.force_login(customer)
    page = client.get("/notifications/")
    assert page.content.count(b"notif unread") == 3 and b"Not yours" not in page.content
    assert b'data-count="3"' in page.content  # the bell
    assert client.get("/notifications/unread-count.json").json() == {"unread": 3}

    first = Notification.objects.filter(recipient=customer).first()
    assert first is not None
    response = client.get(f"/notifications/{first.pk}/")
    assert response.status_code == 302 and response["Location"] == "/jobs/1/"
    assert client.get("/notifications/unread-count.json").json() == {"unread": 2}

    client.post("/notifications/read-all/")
    assert client.get("/notifications/unread-count.json").json() == {"unread": 0}
    assert Notification.objects.filter(recipient=other_customer, read_at__isnull=True).count() == 1


def test_a_notification_never_redirects_off_site(client: Client, customer: User) -> None:
    note = Notification.objects.create(recipient=customer, kind="x", title="x", url="https://evil.example/", dedupe_key="e1")
    client.force_login(customer)
    response = client.get(f"/notifications/{note.pk}/")
    assert response["Location"] == "/notifications/"
