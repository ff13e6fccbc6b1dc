"""Who may open which page: anonymous people log in, wrong roles get 403, other people's things are 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from jobs.models import Bid, Job
from jobs.services import bid_place
from marketplace.accounts.models import User
from scheduling.models import Worker

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/jobs/", "/jobs/new/", "/leads/", "/board/", "/profile/", "/notifications/"])
def test_anonymous_people_are_sent_to_log_in(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_public_pages_need_no_account(client: Client, profile) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/signup/").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    assert client.get(f"/pros/{profile.user_id}/").status_code == 200


@pytest.mark.parametrize("url", ["/jobs/", "/jobs/new/"])
def test_tradespeople_cannot_use_customer_pages(client: Client, tradesperson: User, url: str) -> None:
    client.force_login(tradesperson)
    response = client.get(url)
    assert response.status_code == 403
    assert b"Only customer accounts" in response.content


@pytest.mark.parametrize("url", ["/leads/", "/board/", "/profile/", "/api/board/"])
def test_customers_cannot_use_tradesperson_pages(client: Client, customer: User, url: str) -> None:
    client.force_login(customer)
    assert client.get(url).status_code == 403


def test_a_job_page_is_only_for_its_customer(client: Client, job: Job, other_customer: User, tradesperson: User, lead) -> None:
    for outsider in (other_customer, tradesperson):
        client.force_login(outsider)
        assert client.get(f"/jobs/{job.pk}/").status_code == 404
        bids = client.get(f"/api/jobs/{job.pk}/bids/")  # the API shows the tradesperson offered it only their own bids
        assert bids.status_code == 404 or bids.json() == []
        assert client.get(f"/jobs/{job.pk}/edit/").status_code == 404
        assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN
    client.force_login(job.customer)
    response = client.get(f"/jobs/{job.pk}/")
    assert response.status_code == 200
    assert b"Leaking kitchen tap" in response.content


def test_only_the_customer_decides_on_bids(client: Client, job: Job, lead, tradesperson: User, other_customer: User) -> None:
    bid = bid_place(job=job, tradesperson=tradesperson, amount=Decimal("120"))
    client.force_login(other_customer)
    assert client.post(f"/jobs/{job.pk}/bids/{bid.pk}/shortlist/").status_code == 404
    client.force_login(tradesperson)
    assert client.post(f"/jobs/{job.pk}/bids/{bid.pk}/accept-quote/", {"version": "1", "card_token": "tok_visa"}).status_code == 404
    assert client.get(f"/jobs/{job.pk}/bids/{bid.pk}/quote/").status_code == 404
    bid.refresh_from_db()
    assert bid.status == Bid.Status.ACTIVE


def test_a_lead_page_needs_a_lead(client: Client, job: Job, tradesperson: User, profile, customer: User) -> None:
    client.force_login(tradesperson)
    assert client.get(f"/leads/{job.pk}/").status_code == 404  # not offered: no hint that the job exists
    assert client.post(f"/leads/{job.pk}/quote/", {"opt-0-line-0-description": "Work", "opt-0-line-0-unit_price": "100"}).status_code == 404
    assert not Bid.objects.exists()
    client.force_login(customer)
    assert client.get(f"/leads/{job.pk}/").status_code == 404


def test_opening_a_lead_marks_it_seen(client: Client, lead, tradesperson: User) -> None:
    client.force_login(tradesperson)
    response = client.get(f"/leads/{lead.job_id}/")
    assert response.status_code == 200
    assert b"Send a quote" in response.content
    lead.refresh_from_db()
    assert lead.seen_at is not None


def test_someone_elses_notification_is_404(client: Client, customer: User, other_customer: User) -> None:
    from marketplace.notifications.models import Notification

    note = Notification.objects.create(recipient=customer, kind="bid", title="New bid", dedupe_key="k1", url="/jobs/1/")
    client.force_login(other_customer)
    assert client.get(f"/notifications/{note.pk}/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_post_only_actions_refuse_get(client: Client, job: Job) -> None:
    client.force_login(job.customer)
    assert client.get(f"/jobs/{job.pk}/cancel/").status_code == 405
    assert client.get("/notifications/read-all/").status_code == 405


def test_a_dispatcher_and_a_technician_open_only_their_roles_pages(tradesperson) -> None:
    """scheduling.team: the business's pages by role; the owner's own pages (money, leads, profile, team) stay shut."""
    expected = {  # url: (dispatcher, technician)
        "/my-day/": (200, 200),
        "/calendar/": (200, 403),
        "/dispatch/": (200, 403),
        "/team/": (403, 403),
        "/leads/": (403, 403),
        "/board/": (403, 403),
        "/profile/": (403, 403),
        "/payouts/": (404, 404),  # as for a customer: no such page for them
        "/insights/": (404, 404),
        "/jobs/new/": (403, 403),
    }
    clients = []
    for name, role in (("dina", Worker.Role.DISPATCHER), ("theo", Worker.Role.TECHNICIAN)):
        user = User.objects.create_user(name, f"{name}@example.com", "pw-123456-x", role=User.Role.TEAM)
        Worker.objects.create(owner=tradesperson, user=user, name=name.title(), role=role)
        client = Client()
        client.force_login(user)
        clients.append(client)
    got = {url: tuple(c.get(url).status_code for c in clients) for url in expected}
    assert got == expected
