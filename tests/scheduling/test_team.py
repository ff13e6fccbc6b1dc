"""A business's team: invitations (hashed, expiring, single use, emailed after the commit), accepting one, roles,
deactivation, who may do what for which business (scheduling.team), and the pages and API each role gets."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from scheduling import services
from scheduling.models import Invitation, Worker
from scheduling.services.team import token_hash
from scheduling.team import can_dispatch, can_see_money, dispatch_business, membership
from tests.factories import pro
from tests.helpers import client_for, error_code

from .helpers import awarded_job, future_monday, worker_all_week

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/team/join/([\w-]+)/")


@pytest.fixture
def bob() -> User:
    return pro("bobteam", business_name="Bob's Boilers")


def invite(owner: User, email: str, role: str, callbacks: object) -> str:
    """Invite through the service, run the after-commit send, and return the token from the email."""
    mail.outbox.clear()
    with callbacks(execute=True):  # type: ignore[operator]
        services.invitation_send(owner=owner, email=email, name="Tina Tech", role=role)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [email.lower()]
    match = LINK.search(str(mail.outbox[0].body))
    assert match, mail.outbox[0].body
    return match.group(1)


def member(owner: User, name: str, role: str) -> User:
    user = User.objects.create_user(name, f"{name}@example.com", "pw-123456-x", role=User.Role.TEAM)
    Worker.objects.create(owner=owner, user=user, name=name.title(), role=role)
    return user


# --- invitations ---------------------------------------------------------------------------------


def test_an_invitation_is_emailed_after_the_commit_and_accepting_it_makes_a_team_login(bob, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as pending:
        invitation = services.invitation_send(owner=bob, email="Tina@Example.com", name=" Tina  Tech ", role="technician")
    assert mail.outbox == [] and len(pending) == 1  # nothing leaves inside the transaction
    token = invite(bob, "tina2@example.com", "technician", django_capture_on_commit_callbacks)
    assert "Bob's Boilers" in mail.outbox[0].subject and "technician" in mail.outbox[0].body
    assert invitation.email == "tina@example.com" and invitation.name == "Tina Tech"
    second = Invitation.objects.get(email="tina2@example.com")
    assert second.token_hash == token_hash(token) and token not in second.token_hash  # only the hash is kept

    user = services.invitation_accept(token=token, password="a-long-pass-phrase-9")
    assert user.role == User.Role.TEAM and not user.is_tradesperson and user.check_password("a-long-pass-phrase-9")
    assert EmailAddress.objects.get(user=user).verified  # the link proved the address
    worker = Worker.objects.get(user=user)
    assert (worker.owner, worker.role, worker.name, worker.hours.count()) == (bob, "technician", "Tina Tech", 5)
    assert OutboxEvent.objects.filter(event_type="worker.availability_changed", key=str(worker.pk)).exists()
    second.refresh_from_db()
    assert second.status == Invitation.Status.ACCEPTED and second.worker == worker

    with pytest.raises(ServiceError, match="already used"):  # single use
        services.invitation_accept(token=token, password="a-long-pass-phrase-9")


def test_a_link_expires_is_replaced_by_a_resend_and_dies_when_withdrawn(bob, settings, django_capture_on_commit_callbacks) -> None:
    settings.TEAM_INVITATION_TTL_HOURS = 2
    first = invite(bob, "late@example.com", "dispatcher", django_capture_on_commit_callbacks)
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        with pytest.raises(ServiceError, match="expired") as caught:
            services.invitation_accept(token=first, password="a-long-pass-phrase-9")
        assert caught.value.code == "invitation_unusable"
    invitation = Invitation.objects.get(email="late@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(owner=bob, invitation=invitation)
    match = LINK.search(str(mail.outbox[0].body))
    assert match
    second = match.group(1)
    assert second != first
    assert "not valid" in services.invitation_problem(services.invitation_for_token(first))  # the old link stopped working
    services.invitation_revoke(owner=bob, invitation=invitation)
    assert "withdrawn" in services.invitation_problem(services.invitation_for_token(second))
    assert not User.objects.filter(email="late@example.com").exists()


def test_invitations_are_refused_for_the_wrong_people_and_addresses(bob, customer, django_capture_on_commit_callbacks) -> None:
    dispatcher = member(bob, "dora", Worker.Role.DISPATCHER)
    for who in (customer, dispatcher):
        with pytest.raises(ServiceError) as caught:
            services.invitation_send(owner=who, email="x@example.com", name="X", role="technician")
        assert caught.value.code == "forbidden"
    with pytest.raises(ServiceError) as caught:
        services.invitation_send(owner=bob, email="x@example.com", name="X", role="owner")
    assert caught.value.code == "bad_role"
    with pytest.raises(ServiceError) as caught:
        services.invitation_send(owner=bob, email=customer.email.upper(), name="X", role="technician")
    assert caught.value.code == "email_taken"
    token = invite(bob, "twice@example.com", "technician", django_capture_on_commit_callbacks)
    with pytest.raises(ServiceError) as caught:
        services.invitation_send(owner=bob, email="twice@example.com", name="X", role="technician")
    assert caught.value.code == "already_invited"
    with pytest.raises(ServiceError) as caught:
        services.invitation_accept(token=token, password="123")
    assert caught.value.code == "weak_password" and not User.objects.filter(email="twice@example.com").exists()


# --- who may do what --------------------------------------------------------------------------------


def test_membership_answers_the_business_and_the_role(bob, customer) -> None:
    worker_all_week(bob)
    dispatcher, technician = member(bob, "dina", Worker.Role.DISPATCHER), member(bob, "theo", Worker.Role.TECHNICIAN)
    rival = pro("rivalteam")
    assert membership(bob).role == "owner" and membership(bob).business == bob  # type: ignore[union-attr]
    assert membership(technician).role == "technician" and membership(technician).business == bob  # type: ignore[union-attr]
    assert membership(customer) is None and membership(None) is None
    assert [dispatch_business(u) for u in (bob, dispatcher, technician, customer)] == [bob, bob, None, None]
    assert can_dispatch(dispatcher, bob) and not can_dispatch(dispatcher, rival) and not can_dispatch(technician, bob)
    assert can_see_money(bob, bob) and not can_see_money(dispatcher, bob) and not can_see_money(technician, bob)


def test_the_owner_changes_roles_and_deactivates_members_but_never_themself(bob) -> None:
    own = services.worker_for_owner(owner=bob)
    theo = member(bob, "theo", Worker.Role.TECHNICIAN)
    worker = Worker.objects.get(user=theo)
    services.member_set_role(owner=bob, worker=worker, role="dispatcher")
    assert dispatch_business(theo) == bob
    services.member_deactivate(owner=bob, worker=worker)
    theo.refresh_from_db()
    assert not theo.is_active and membership(theo) is None
    assert not Client().login(username="theo", password="pw-123456-x")  # their login stopped working
    with pytest.raises(ServiceError) as caught:
        services.member_deactivate(owner=bob, worker=own)
    assert caught.value.code == "owner_fixed"
    with pytest.raises(ServiceError) as caught:
        services.member_set_role(owner=pro("stranger"), worker=worker, role="technician")
    assert caught.value.code == "not_found"


# --- pages and API ----------------------------------------------------------------------------------


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_team_page_is_the_owners_and_invites_through_the_form(bob, customer, django_capture_on_commit_callbacks) -> None:
    for someone in (customer, member(bob, "dina", Worker.Role.DISPATCHER), member(bob, "theo", Worker.Role.TECHNICIAN)):
        assert logged_in(someone).get("/team/").status_code == 403
    client = logged_in(bob)
    page = client.get("/team/")
    assert page.status_code == 200 and "Dina" in page.content.decode() and ">Team</a>" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/team/", {"action": "invite", "name": "Nina", "email": "nina@example.com", "role": "technician"})
    assert response.status_code == 302 and len(mail.outbox) == 1
    assert "nina@example.com" in client.get("/team/").content.decode()
    refused = client.post("/team/", {"action": "invite", "name": "Again", "email": "nina@example.com", "role": "technician"})
    assert refused.status_code == 200 and "already has an invitation waiting" in refused.content.decode()
    invitation = Invitation.objects.get(email="nina@example.com")
    client.post("/team/", {"action": "revoke", "id": invitation.pk})
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED


def test_the_join_link_sets_a_password_and_signs_the_person_in(bob, django_capture_on_commit_callbacks) -> None:
    token = invite(bob, "joiner@example.com", "technician", django_capture_on_commit_callbacks)
    client = Client()
    page = client.get(f"/team/join/{token}/")
    assert page.status_code == 200 and "Join Bob&#x27;s Boilers" in page.content.decode()
    mismatch = client.post(f"/team/join/{token}/", {"password1": "a-long-pass-phrase-9", "password2": "other-phrase-9"})
    assert "not the same" in mismatch.content.decode() and not User.objects.filter(email="joiner@example.com").exists()
    response = client.post(f"/team/join/{token}/", {"password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"})
    assert response.status_code == 302 and response["Location"] == "/my-day/"
    day = client.get("/my-day/").content.decode()
    assert "My day" in day and "Leads" not in day and "Payouts" not in day and ">Dispatch</a>" not in day
    used = Client().get(f"/team/join/{token}/")
    assert used.status_code == 410 and "already used" in used.content.decode()
    assert "not valid" in Client().get("/team/join/nonsense/").content.decode()


def test_my_day_and_my_appointments_show_only_the_technicians_own_work(bob, customer) -> None:
    theo = member(bob, "theo", Worker.Role.TECHNICIAN)
    theos = Worker.objects.get(user=theo)
    start = future_monday(9)
    with time_machine.travel(start - timedelta(hours=3), tick=False):  # 06:00 on the day of the appointment
        own_job = awarded_job(customer, bob, title="Fix the boiler", place="Highbury N5")
        other_job = awarded_job(customer, bob, title="Someone else's job")
        services.appointment_book(job=other_job, worker=worker_all_week(bob), starts_at=start, duration_minutes=60, actor=bob)
        services.worker_set_hours(worker=theos, actor=bob, hours=[(d, time(8), time(18)) for d in range(7)])
        services.appointment_book(job=own_job, worker=theos, starts_at=start, duration_minutes=90, actor=bob)
        page = logged_in(theo).get("/my-day/")
        visit = logged_in(theo).get(f"/visits/{own_job.pk}/")
        assert visit.status_code == 200 and logged_in(theo).get(f"/visits/{other_job.pk}/").status_code == 404
        api = client_for(theo).get("/api/me/appointments/")
        assert logged_in(customer).get("/my-day/").status_code == 403
        refused = client_for(customer).get("/api/me/appointments/")
    html = page.content.decode()
    assert page.status_code == 200 and "Fix the boiler" in html and "Someone else" not in html and "Today" in html
    assert f"/visits/{own_job.pk}/" in html and "09:00–10:30" in html  # London, on UTC in winter
    assert api.status_code == 200 and [a["job"] for a in api.json()["appointments"]] == [own_job.pk]
    assert refused.status_code == 403 and error_code(refused) == "not_a_team_member"
    # The visit page holds the job's chat for the technician, and leads back to their day (not the lead page).
    visit_html = visit.content.decode()
    assert 'data-testid="chat"' in visit_html and f'data-threads-url="/api/jobs/{own_job.pk}/chat/"' in visit_html
    assert '<a class="back" href="/my-day/">' in visit_html
