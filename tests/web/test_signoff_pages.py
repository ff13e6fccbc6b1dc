"""The sign-off panel and its forms (payments/signoff_views.py): each party sees their side; refusals are sentences."""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.accounts.models import User
from payments.models import Dispute, Payment
from tests.payments.test_approval import completed
from tests.quotes.test_payments import booked

pytestmark = pytest.mark.django_db


def test_nothing_to_sign_off_before_completion(client: Client, customer: User) -> None:
    job, _, _ = booked(customer, name="bobpage0")
    client.force_login(customer)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="signoff-panel"' in page and 'id="approve-form"' not in page
    assert client.get(f"/jobs/{job.pk}/signoff/").content.decode().strip() == ""


def test_the_customer_approves_with_a_tip_from_the_page(client: Client, customer: User) -> None:
    job, bob, _, _ = completed(customer, name="bobpage1")
    client.force_login(customer)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="approve-form"' in page and "Report a problem" in page and "approved automatically" in page
    refused = client.post(f"/jobs/{job.pk}/signoff/approve/", {"tip": "ten"}, follow=True).content.decode()
    assert "Enter the tip as an amount in pounds" in refused
    done = client.post(f"/jobs/{job.pk}/signoff/approve/", {"tip": "7.50"}, follow=True).content.decode()
    assert "you approved the work" in done and "Thank you for the £7.50 tip." in done
    assert Payment.objects.get(job=job).tip == 7.5

    client.force_login(bob)
    lead = client.get(f"/leads/{job.pk}/").content.decode()
    assert "The customer approved the work and added a £7.50 tip" in lead and 'id="approve-form"' not in lead


def test_the_tradesperson_waits_and_cannot_approve(client: Client, customer: User) -> None:
    job, bob, _, _ = completed(customer, name="bobpage2")
    client.force_login(bob)
    lead = client.get(f"/leads/{job.pk}/").content.decode()
    assert "Waiting for the customer&#x27;s approval" in lead or "Waiting for the customer's approval" in lead
    refused = client.post(f"/jobs/{job.pk}/signoff/approve/", {"tip": "0"}, follow=True)
    assert refused.status_code == 200 and "Only the customer who booked this job can approve the work." in refused.content.decode()
    assert Payment.objects.get(job=job).status == Payment.Status.AWAITING_APPROVAL


def test_a_stranger_gets_404(client: Client, customer: User, other_customer: User) -> None:
    job, _, _, _ = completed(customer, name="bobpage3")
    client.force_login(other_customer)
    assert client.get(f"/jobs/{job.pk}/signoff/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/signoff/problem/", {"description": "Not mine but still."}).status_code == 404


def test_reporting_a_problem_from_the_page(client: Client, customer: User) -> None:
    job, bob, _, payment = completed(customer, name="bobpage4")
    payment.approval_due_at = None  # the window of the fixed test completion time has passed in real time
    payment.save(update_fields=["approval_due_at"])
    client.force_login(customer)
    short = client.post(f"/jobs/{job.pk}/signoff/problem/", {"description": "bad"}, follow=True).content.decode()
    assert "Tell us what is wrong with the work" in short
    done = client.post(f"/jobs/{job.pk}/signoff/problem/", {"description": "The tap still drips."}, follow=True).content.decode()
    assert "Thanks for telling us" in done and "You reported a problem" in done
    assert Dispute.objects.get(job=job).description == "The tap still drips."
    client.force_login(bob)
    assert "The tap still drips." in client.get(f"/jobs/{job.pk}/signoff/").content.decode()
