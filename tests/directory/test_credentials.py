"""Credentials: the tradesperson adds and removes their own, staff verify or reject them in admin, the clock expires
them (credential.expired) and the badge drops from the directory and, live, from an open profile page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from directory.selectors import badges_of_pro, search
from jobs.credentials import credential_add, credential_remove, credential_verify, credentials_expire_due
from jobs.models import Credential, TradespersonProfile
from marketplace.accounts.models import User
from marketplace.asgi import application
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.registry import get_consumer
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import pro
from tests.helpers import png_bytes

LONDON = ZoneInfo("Europe/London")
# The last valid day is a Saturday; the badge shows all that day (UK time) and drops after midnight.
LAST_DAY = date(2031, 3, 29)
EVENING = datetime(2031, 3, 29, 23, 30, tzinfo=LONDON)
AFTER_MIDNIGHT = datetime(2031, 3, 30, 0, 5, tzinfo=LONDON)


def staff_user() -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-123456-x")


@pytest.mark.django_db
def test_only_the_owner_adds_and_removes_credentials_and_nothing_shows_until_staff_verify(customer: User, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    bob, zed = pro("bob"), pro("zed")
    with pytest.raises(ServiceError) as refused:
        credential_add(user=customer, kind="gas_safe", number="1", expires_on=date.today() + timedelta(days=30))
    assert refused.value.code == "no_profile"
    with pytest.raises(ServiceError) as refused:
        credential_add(user=bob, kind="gas_safe", number="1", expires_on=date.today() - timedelta(days=2))
    assert refused.value.code == "already_expired"

    # Through the page: the tradesperson's own list; others (and customers) get nothing of it.
    web = Client()
    web.force_login(bob)
    added = web.post(reverse("profile-credentials"), {"kind": "niceic", "number": " NIC-42 ", "expires_on": "2099-01-31"}, follow=True)
    assert added.status_code == 200 and b"NIC-42" in added.content and b"Awaiting verification" in added.content
    credential = Credential.objects.get(number="NIC-42")
    assert credential.status == "pending" and badges_of_pro(user_id=bob.pk) == []
    assert not OutboxEvent.objects.filter(event_type__startswith="credential.").exists()  # nothing public changed yet

    # A scan is stored under a random name (never guessable from the profile); anything but a PDF or image is refused.
    web.post(
        reverse("profile-credentials"),
        {"kind": "gas_safe", "number": "GS-1", "expires_on": "2099-01-31", "document": SimpleUploadedFile("my-home.png", png_bytes())},
    )
    scan = Credential.objects.get(number="GS-1").document.name
    assert scan.startswith(f"credentials/{credential.profile_id}/") and scan.endswith(".png") and "my-home" not in scan
    refused_scan = web.post(
        reverse("profile-credentials"),
        {"kind": "napit", "number": "NP-1", "expires_on": "2099-01-31", "document": SimpleUploadedFile("x.exe", b"MZ")},
    )
    assert b"as a PDF, JPG or PNG" in refused_scan.content and not Credential.objects.filter(number="NP-1").exists()

    web.force_login(customer)
    assert web.get(reverse("profile-credentials")).status_code == 403
    web.force_login(zed)
    assert b"NIC-42" not in web.get(reverse("profile-credentials")).content
    web.post(reverse("credential-remove", args=[credential.pk]))
    assert Credential.objects.filter(pk=credential.pk).exists()  # not zed's to remove
    with pytest.raises(ServiceError) as refused:
        credential_remove(user=zed, credential_id=credential.pk)
    assert refused.value.code == "not_found"

    web.force_login(bob)
    web.post(reverse("credential-remove", args=[credential.pk]))
    assert not Credential.objects.filter(pk=credential.pk).exists()
    assert OutboxEvent.objects.filter(event_type="credential.removed", key=str(bob.pk)).count() == 1


@pytest.mark.django_db
def test_staff_verify_and_reject_in_admin_with_an_awaiting_verification_filter() -> None:
    bob = pro("bob")
    waiting = credential_add(user=bob, kind="gas_safe", number="GS-1", expires_on=date.today() + timedelta(days=90))
    doubtful = credential_add(user=bob, kind="napit", number="NP-2", expires_on=date.today() + timedelta(days=90))
    staff = staff_user()
    web = Client()
    web.force_login(staff)
    url = reverse("admin:jobs_credential_changelist")
    awaiting = web.get(url, {"verification": "awaiting"})
    assert awaiting.status_code == 200 and b"GS-1" in awaiting.content and b"NP-2" in awaiting.content
    assert web.get(reverse("admin:jobs_credential_add")).status_code == 403  # pros add their own

    done = web.post(url, {"action": "verify_credentials", "_selected_action": [waiting.pk]}, follow=True)
    assert b"Verified 1 credential(s)" in done.content
    web.post(url, {"action": "reject_credentials", "_selected_action": [doubtful.pk]})
    verified, rejected = Credential.objects.get(pk=waiting.pk), Credential.objects.get(pk=doubtful.pk)
    assert (verified.status, verified.verified_by, rejected.status) == ("verified", staff, "rejected")
    assert verified.verified_at is not None
    assert [b.kind for b in badges_of_pro(user_id=bob.pk)] == ["gas_safe"]
    assert b"GS-1" not in web.get(url, {"verification": "awaiting"}).content
    events = list(OutboxEvent.objects.filter(event_type__startswith="credential.").order_by("id").values_list("event_type", flat=True))
    assert events == ["credential.verified", "credential.rejected"]
    # Verifying twice changes nothing and says so.
    assert credential_verify(credential=verified, staff=staff) is False


@pytest.mark.django_db
def test_the_clock_expires_a_credential_after_its_last_uk_day_and_the_directory_drops_the_badge() -> None:
    bob = pro("bob")
    staff = staff_user()
    with time_machine.travel(datetime(2031, 1, 10, 12, 0, tzinfo=LONDON), tick=False):
        credential = credential_add(user=bob, kind="gas_safe", number="GS-9", expires_on=LAST_DAY)
        credential_verify(credential=credential, staff=staff)

    with time_machine.travel(EVENING, tick=False):  # 22:30 UTC on the last day: still valid in the UK
        assert credentials_expire_due() == 0
        assert search(trade="plumbing").listings[0].badges[0].number == "GS-9"
    with time_machine.travel(AFTER_MIDNIGHT, tick=False):
        # Past midnight the badge is gone from every read even before the clock runs...
        assert search(trade="plumbing").listings[0].badges == []
        # ...and the clock's pass marks it expired, with one event; a second pass finds nothing.
        call_command("clock", "--once")
        assert Credential.objects.get(pk=credential.pk).status == "expired"
        assert credentials_expire_due() == 0
    expired = OutboxEvent.objects.get(event_type="credential.expired")
    assert expired.key == str(bob.pk) and expired.envelope["data"]["expires_on"] == "2031-03-29"


@pytest.mark.django_db(transaction=True)
def test_an_open_profile_page_hears_the_badge_drop_live(broker, customer: User) -> None:
    bob = pro("bob")
    staff = staff_user()
    spec = get_consumer("directory-live")
    # Added and verified ten days ago, valid until yesterday: due now. (The pushes run at the real time: the channel
    # layer drops group members older than a day, so a push from a clock pinned years ahead would reach no one.)
    yesterday = timezone.localdate() - timedelta(days=1)
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        credential = credential_add(user=bob, kind="gas_safe", number="GS-9", expires_on=yesterday)
        credential_verify(credential=credential, staff=staff)

    def expire_and_consume() -> None:
        assert credentials_expire_due() == 1
        relay_all()
        run_consumer_until(lambda: ProcessedEvent.objects.filter(consumer=spec.name).count() >= 2, spec)
        connection.close()

    async def scenario() -> list[dict[str, Any]]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = customer
        assert (await ws.connect())[0]
        await ws.receive_json_from()
        await ws.send_json_to({"action": "subscribe", "stream": f"pro.{bob.pk}"})
        assert (await ws.receive_json_from())["type"] == "subscribed"
        await sync_to_async(expire_and_consume, thread_sensitive=False)()
        pushed: list[dict[str, Any]] = []
        while len(pushed) < 2:
            message = await ws.receive_json_from(timeout=5)
            if message.get("stream") == f"pro.{bob.pk}":
                pushed.append(message)
        await ws.disconnect()
        return pushed

    verified, expired = async_to_sync(scenario)()
    # The verification's push says what shows now (already nothing: its date has passed); the expiry's push agrees.
    assert verified["event"] == expired["event"] == "badges.changed" and expired["data"] == {"badges": []}
    assert expired["prev_seq"] == verified["seq"] and expired["aggregate"] == f"pro:{bob.pk}"


@pytest.mark.django_db
def test_the_profile_s_insured_mark_agrees_with_a_verified_unexpired_insurance_credential(client: Client) -> None:
    bob = pro("bob", business_name="Bob's Boilers")
    url = reverse("pro-public", args=[bob.pk])

    def insured_mark() -> str:
        html = client.get(url).content.decode()
        return "✓ Insured" if "✓ Insured" in html else "Insurance not checked yet" if "Insurance not checked yet" in html else "neither"

    with time_machine.travel(datetime(2031, 1, 10, 12, 0, tzinfo=LONDON), tick=False):
        credential = credential_add(user=bob, kind="public_liability_insurance", number="PL-1", expires_on=LAST_DAY)
        assert insured_mark() == "Insurance not checked yet"  # pending: nobody has checked it
        credential_verify(credential=credential, staff=staff_user())
        assert insured_mark() == "✓ Insured"
    with time_machine.travel(AFTER_MIDNIGHT, tick=False):  # past its last UK day: the badge and the mark go together
        assert insured_mark() == "Insurance not checked yet"
        TradespersonProfile.objects.filter(user=bob).update(is_insured=True)  # staff's admin tick counts on its own
        assert insured_mark() == "✓ Insured"
