"""The customer 360 admin page: every section for a customer with data, staff only, and a bounded number of queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.customer360 import reviews_installed
from chat.services import chat_send, chat_threads_open
from jobs import services as job_services
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild
from tests.factories import offer, post_job, pro
from tests.quotes.helpers import accept, submit
from tests.tracking.helpers import scheduled_job

from .helpers import replay_alerts

pytestmark = pytest.mark.django_db


def rebuild_read_models() -> None:
    for name in ("jobs-board", "finance", "timeline"):
        rebuild(get_consumer(name), source="outbox")
    replay_alerts()


def open_job_with_bid(customer: User, n: int) -> None:
    job = post_job(customer, title=f"Loose socket {n}")
    bidder = pro(f"bidder{n}")
    offer(job, bidder)
    submit(job, bidder)
    [thread] = chat_threads_open(job=job, viewer=customer)
    chat_send(thread=thread, sender=customer, text=f"Question {n}: can you come on Saturday?")


@pytest.fixture
def rich(customer) -> User:
    """A customer with a scheduled job (quote accepted, deposit held, appointment), a chat, an open job with a bid, a declined card."""
    s = scheduled_job(customer, owner_name="fullbob")
    [thread] = chat_threads_open(job=s.job, viewer=customer)
    chat_send(thread=thread, sender=customer, text="The side gate is open, see you Monday")
    chat_send(thread=thread, sender=s.owner, text="Thanks, I will bring a new valve")
    if reviews_installed():
        from reviews.services import review_post

        job_services.job_start_work(job=s.job, actor=s.owner)
        job_services.job_complete(job=s.job, actor=s.owner)
        aspects = dict.fromkeys(("punctuality", "quality", "value", "communication"), 4)
        review_post(job=s.job, customer=customer, rating=4, aspects=aspects, comment="Tidy work")
    open_job_with_bid(customer, 1)
    declined = post_job(customer, title="Declined card job")
    carl = pro("carldecl")
    offer(declined, carl)
    with pytest.raises(ServiceError):
        accept(submit(declined, carl), customer, token="tok_decline")
    rebuild_read_models()
    return customer


@pytest.fixture
def staff(django_user_model) -> User:
    return django_user_model.objects.create_superuser("root360", "root@example.com", "pw-123456-x")


def page(client, user: User) -> str:
    response = client.get(reverse("customer360", args=[user.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, name: str) -> str:
    start = html.index(f'id="c360-{name}"')
    return html[start : html.index("</section>", start)]


def test_every_section_shows_the_customers_data(client, staff, rich) -> None:
    client.force_login(staff)
    html = page(client, rich)
    assert "Customer 360: cust_a" in html and 'id="c360-job-count">3<' in html
    jobs = section(html, "jobs")
    assert "Leaky tap" in jobs and "Loose socket 1" in jobs and "Declined card job" in jobs and "not on the board yet" not in jobs
    bids = section(html, "bids")
    assert "Fullbob Ltd" in bids and "Bidder1 Ltd" in bids and "Carldecl Ltd" in bids
    quotes = section(html, "quotes")
    assert quotes.count("<td>v1</td>") == 3 and "Standard £" in quotes
    payments = section(html, "payments")
    assert "Deposit held" in payments and "Payment " in payments and "Authorise deposit" in payments and "card_declined" in payments
    assert "Declined card job" in payments  # the declined operation
    appointments = section(html, "appointments")
    assert "Booked" in appointments and "Fullbob" in appointments
    messages = section(html, "messages")
    assert "The side gate is open, see you Monday" in messages and "Thanks, I will bring a new valve" in messages
    assert "can you come on Saturday?" in messages
    alerts = section(html, "alerts")
    assert "New customer&#x27;s first job" in alerts or "New customer's first job" in alerts
    assert "Payment failed (deposit" in alerts
    timeline = section(html, "timeline")
    assert "No activity recorded yet." not in timeline and "<td>#" in timeline
    reviews = section(html, "reviews")
    if reviews_installed():
        assert "Tidy work" in reviews and "4/5" in reviews
    else:
        assert "Reviews are not enabled" in reviews


def test_the_page_costs_the_same_queries_whatever_the_amount_of_data(client, staff, rich) -> None:
    client.force_login(staff)
    page(client, rich)  # warm caches (content types, permissions)
    with CaptureQueriesContext(connection) as before:
        page(client, rich)
    for n in range(2, 6):
        open_job_with_bid(rich, n)
    rebuild_read_models()
    with CaptureQueriesContext(connection) as after:
        html = page(client, rich)
    assert "Loose socket 5" in html and "Question 5" in html
    assert len(after) == len(before), [q["sql"][:120] for q in after.captured_queries]
    assert len(before) <= 25


def test_only_staff_who_may_view_users_see_it(client, rich, other_customer, django_user_model) -> None:
    url = reverse("customer360", args=[rich.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    client.force_login(other_customer)  # a customer (not staff) is sent to the admin login
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-123456-x", is_staff=True)
    client.force_login(clerk)  # staff without permission to view users
    assert client.get(url).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="accounts"))
    clerk = User.objects.get(pk=clerk.pk)  # drop the permission cache
    client.force_login(clerk)
    assert client.get(url).status_code == 200


def test_unknown_user_is_404(client, staff) -> None:
    client.force_login(staff)
    assert client.get(reverse("customer360", args=[987654])).status_code == 404


def test_the_user_admin_and_the_alerts_link_to_the_360(client, staff, rich) -> None:
    client.force_login(staff)
    link = reverse("customer360", args=[rich.pk])
    assert link == f"/admin/customer360/{rich.pk}/"
    assert link in client.get(reverse("admin:accounts_user_change", args=[rich.pk])).content.decode()
    changelist = client.get(reverse("admin:alerts_alert_changelist")).content.decode()
    assert link in changelist and "cust_a (360)" in changelist
