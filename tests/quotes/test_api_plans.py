"""The service plans API (/api/plans/): offer, accept, cancel and list, with the standard error JSON, and the
pages both sides use (the completed job's lead page, the customer's job page, /plans/)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from quotes.models import ServiceAgreement
from tests.factories import CustomerFactory, pro
from tests.helpers import client_for, error_code
from tests.quotes.test_agreements import completed_job


@pytest.mark.django_db
def test_offer_accept_list_and_cancel_over_the_api(customer) -> None:
    bob = pro("bob")
    job = completed_job(customer, bob)
    assert client_for(None).get("/api/plans/").status_code in (401, 403)

    refused = client_for(customer).post("/api/plans/", {"job_id": job.pk, "price": "90.00"}, format="json")
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    refused = client_for(bob).post("/api/plans/", {"job_id": job.pk, "price": "0"}, format="json")
    assert (refused.status_code, error_code(refused)) == (400, "bad_amount")

    offered = client_for(bob).post("/api/plans/", {"job_id": job.pk, "price": "90.00", "interval_months": 12}, format="json")
    assert offered.status_code == 201, offered.json()
    plan = offered.json()
    shown = (plan["status"], plan["price"], plan["interval_months"], plan["created_from"], plan["visits"])
    assert shown == ("offered", "90.00", 12, job.pk, [])

    stranger = CustomerFactory.create(username="mallory")
    missing = client_for(stranger).post(f"/api/plans/{plan['id']}/accept/", {"card_token": "tok_visa"}, format="json")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")  # not theirs: not even there
    by_pro = client_for(bob).post(f"/api/plans/{plan['id']}/accept/", {"card_token": "tok_visa"}, format="json")
    assert (by_pro.status_code, error_code(by_pro)) == (403, "forbidden")
    accepted = client_for(customer).post(f"/api/plans/{plan['id']}/accept/", {"card_token": "tok_visa"}, format="json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    assert "card_token" not in accepted.json()

    assert [p["id"] for p in client_for(customer).get("/api/plans/").json()] == [plan["id"]]
    assert [p["id"] for p in client_for(bob).get("/api/plans/").json()] == [plan["id"]]
    assert client_for(stranger).get("/api/plans/").json() == []

    cancelled = client_for(customer).post(f"/api/plans/{plan['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client_for(customer).post(f"/api/plans/{plan['id']}/accept/", {"card_token": "tok_visa"}, format="json")
    assert (again.status_code, error_code(again)) == (409, "plan_cancelled")


@pytest.mark.django_db
def test_the_pages_offer_and_accept_a_plan(client, customer) -> None:
    bob = pro("bob")
    job = completed_job(customer, bob)
    client.force_login(bob)
    lead_page = client.get(reverse("lead-detail", args=[job.pk])).content.decode()
    assert 'data-testid="plan-offer"' in lead_page and 'value="85.00"' in lead_page  # the price the job was done at
    client.post(reverse("plan-offer", args=[job.pk]), {"price": "90.00", "interval_months": "12"})
    plan = ServiceAgreement.objects.get()
    assert (plan.price, plan.status) == (Decimal("90.00"), ServiceAgreement.Status.OFFERED)

    client.force_login(customer)
    job_page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "Service plan offered" in job_page and 'data-testid="plan-accept"' in job_page
    answer = client.post(reverse("plan-accept", args=[plan.pk]), {"card_token": "tok_visa", "next": f"/jobs/{job.pk}/"})
    assert answer.status_code == 302 and answer["Location"] == f"/jobs/{job.pk}/"
    plan.refresh_from_db()
    assert plan.status == ServiceAgreement.Status.ACTIVE
    page = client.get(reverse("plan-list")).content.decode()
    assert plan.title in page and 'data-testid="plan-next-due"' in page

    client.force_login(CustomerFactory.create(username="mallory"))
    assert client.post(reverse("plan-cancel", args=[plan.pk])).status_code == 404
