"""Accounts on django-allauth: password reset, email verification and change, staff TOTP, sessions.

Emails leave on commit (marketplace/accounts/adapter.py): each request that sends one runs inside
``django_capture_on_commit_callbacks(execute=True)``, as a real commit would.
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import Client, override_settings

from marketplace.accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.helpers import activate_totp, totp_code

pytestmark = pytest.mark.django_db

UA_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
UA_ANDROID = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"


def person(email: str = "dana@example.net", *, verified: bool = True, **extra: object) -> User:
    user = UserFactory.create(username="dana", email=email, **extra)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


def link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"http://testserver(/accounts/\S+/)", str(message.body))
    assert match, message.body
    return match.group(1)


def log_in(client: Client, login: str, password: str = PASSWORD) -> str:
    response = client.post("/accounts/login/", {"login": login, "password": password})
    return response["Location"] if response.status_code == 302 else str(response.status_code)


def test_a_forgotten_password_is_reset_through_the_emailed_link(client: Client, django_capture_on_commit_callbacks) -> None:
    person()
    with django_capture_on_commit_callbacks() as pending:
        client.post("/accounts/password/reset/", {"email": "dana@example.net"})
    assert mail.outbox == [] and len(pending) == 1  # nothing is sent before the commit
    pending[0]()
    (message,) = mail.outbox
    assert message.to == ["dana@example.net"] and message.subject == "TradeLink: Reset your password"
    html = message.alternatives[0][0]  # type: ignore[attr-defined]
    assert "Choose a new password" in html and "TradeLink" in html

    form_url = client.get(link_in(message))["Location"]  # the key moves out of the URL into the session
    done = client.post(form_url, {"password1": "a-brand-new-phrase-7", "password2": "a-brand-new-phrase-7"})
    assert done.status_code == 302
    assert log_in(Client(), "dana", PASSWORD) == "200"  # the old password no longer works
    assert log_in(Client(), "dana@example.net", "a-brand-new-phrase-7") == "/"  # by email too
    assert client.get(link_in(message)).status_code in (200, 302)
    assert b"invalid" in Client().get(link_in(message), follow=True).content  # a used link says so


def test_signing_up_sends_a_verification_link_and_the_pages_nag_until_it_is_followed(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    signup = {
        "role": "customer",
        "display_name": "Erin",
        "username": "erin",
        "email": "erin@example.net",
        "password": "a-long-pass-phrase-42",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/signup/", signup)
    (message,) = mail.outbox
    assert message.to == ["erin@example.net"] and "Confirm" in message.subject
    assert b'id="email-nag"' in client.get("/").content  # optional, but reminded on every page

    confirm = link_in(message)
    assert client.post(confirm).status_code == 302
    assert EmailAddress.objects.get(email="erin@example.net").verified
    assert b'id="email-nag"' not in client.get("/").content


def test_a_new_email_takes_over_only_once_verified(client: Client, django_capture_on_commit_callbacks) -> None:
    user = person()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/email/", {"email": "dana.new@example.net", "action_add": ""})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "dana@example.net"  # still the old one: the new one is not confirmed
    (message,) = mail.outbox
    assert message.to == ["dana.new@example.net"]
    page = client.get("/accounts/email/").content.decode()
    assert "Changing to" in page and "dana.new@example.net" in page

    client.post(link_in(message))
    user.refresh_from_db()
    assert user.email == "dana.new@example.net"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("dana.new@example.net", True, True)
    ]


@override_settings(STAFF_REQUIRE_TOTP=True)
def test_staff_must_set_up_totp_and_then_give_a_code_at_sign_in(client: Client) -> None:
    staff = UserFactory.create(username="sam", is_staff=True, is_superuser=True)
    assert log_in(client, "sam") == "/"  # no authenticator yet: the password alone signs in
    for page in ("/admin/", "/insights/platform/"):
        assert client.get(page)["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/jobs/").status_code == 200  # not a staff page
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith("/accounts/reauthenticate/")  # password first
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200 and "Authenticator secret" in setup.content.decode()

    secret = activate_totp(staff)
    assert client.get("/admin/").status_code == 200

    fresh = Client()
    assert fresh.get("/admin/login/?next=/admin/")["Location"] == "/accounts/login/?next=/admin/"  # admin's own form is bypassed
    assert fresh.post("/accounts/login/", {"login": "sam", "password": PASSWORD})["Location"] == "/accounts/2fa/authenticate/"
    assert fresh.get("/admin/")["Location"].startswith("/admin/login/")  # not signed in yet
    wrong = fresh.post("/accounts/2fa/authenticate/", {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
    assert fresh.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})["Location"] == "/"
    assert fresh.get("/admin/").status_code == 200


def test_sessions_are_listed_and_each_can_be_signed_out() -> None:
    person()
    laptop, phone, tablet = Client(HTTP_USER_AGENT=UA_MAC), Client(HTTP_USER_AGENT=UA_ANDROID), Client()
    for each in (laptop, phone, tablet):
        assert log_in(each, "dana") == "/"
    page = laptop.get("/accounts/sessions/").content.decode()
    assert page.count('class="card"') == 3
    assert 'Safari on Mac <span class="badge">This device</span>' in page and "Chrome on Android" in page
    assert "Address 127.0.0.x" in page and "127.0.0.1" not in page

    phone_id = re.search(r'data-session="(\d+)">\s*<div class="meta">\s*<strong>Chrome on Android', page)
    assert phone_id
    assert laptop.post(f"/accounts/sessions/{phone_id.group(1)}/end/")["Location"] == "/accounts/sessions/"
    assert phone.get("/jobs/")["Location"].startswith("/accounts/login/")  # its next request is anonymous
    assert tablet.get("/jobs/").status_code == 200

    laptop.post("/accounts/sessions/")  # sign out everywhere else
    assert tablet.get("/jobs/")["Location"].startswith("/accounts/login/")
    assert laptop.get("/jobs/").status_code == 200


def test_someone_elses_session_cannot_be_ended(client: Client) -> None:
    person()
    victim = Client()
    log_in(victim, "dana")
    intruder = UserFactory.create(username="mallory")
    client.force_login(intruder)
    session = UserSession.objects.get(user__username="dana")
    assert client.post(f"/accounts/sessions/{session.pk}/end/").status_code == 404
    assert victim.get("/jobs/").status_code == 200


def test_changing_the_password_signs_out_every_other_session() -> None:
    person()
    here, elsewhere = Client(), Client()
    log_in(here, "dana")
    log_in(elsewhere, "dana")
    changed = here.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": "another-long-phrase-9", "password2": "another-long-phrase-9"}
    )
    assert changed.status_code == 302
    assert here.get("/jobs/").status_code == 200
    assert elsewhere.get("/jobs/")["Location"].startswith("/accounts/login/")
