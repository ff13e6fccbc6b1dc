"""Download my data (marketplace/privacy/selectors.py ``user_export``): the page, the API and the admin's
subject access request give the person's own records, and only to them (or staff)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from marketplace.accounts.models import User
from tests.factories import StaffFactory
from tests.helpers import client_for, error_code
from tests.payments.test_approval import completed
from tests.privacy.helpers import EMAIL, NAME, PHONE, ada, ada_story

pytestmark = pytest.mark.django_db


def test_the_export_holds_the_persons_account_jobs_words_and_money(customer: User) -> None:
    person = ada()
    _, bob = ada_story(person)
    pro_data = json.loads(client_for(bob).get("/api/me/data/").content)["data"]  # every section also reads for a tradesperson
    assert pro_data["jobs"]["profile"]["business_name"] and pro_data["quotes"]["invoices_issued"][0]["customer_name"]
    response = client_for(person).get("/api/me/data/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    body = json.loads(response.content)
    data = body["data"]
    assert body["user_id"] == person.pk
    assert data["account.user"]["email"] == EMAIL and data["account.user"]["display_name"] == NAME
    assert data["notifications"]["preferences"]["phone"] == PHONE
    assert [j["title"] for j in data["jobs"]["jobs_posted"]][1] == f"{NAME}'s attic hatch"
    assert data["chat.messages"][0]["text"].startswith("Hello")
    assert data["reviews"]["written"][0]["comment"].startswith("Great work")
    assert [p["status"] for p in data["payments"]["payments"]] == ["paid"]
    assert len(data["quotes"]["invoices_received"]) == 1
    # Nothing of anyone else: the tradesperson's business details and the other customer are not in it.
    assert "bobpriv" not in response.content.decode() and customer.username not in response.content.decode()


def test_only_the_person_downloads_their_data_staff_through_the_admin(customer: User) -> None:
    assert client_for(None).get("/api/me/data/").status_code in (401, 403)
    browser = Client()
    assert browser.get("/account/privacy/my-data.json").status_code == 302  # to the login page
    browser.force_login(customer)
    mine = json.loads(browser.get("/account/privacy/my-data.json").content)
    assert mine["user_id"] == customer.pk

    staff = Client()
    staff.force_login(StaffFactory.create(is_superuser=True))
    response = staff.post("/admin/accounts/user/", {"action": "download_data", "_selected_action": [customer.pk]})
    assert response.status_code == 200 and json.loads(response.content)["user_id"] == customer.pk


def test_erasure_asks_for_the_password_and_waits_while_money_is_in_flight(customer: User) -> None:
    completed(customer, name="bobwait")  # awaiting the customer's approval: money in flight
    client = client_for(customer)
    assert error_code(client.post("/api/me/erase/", {"password": "wrong"}, format="json")) == "wrong_password"
    response = client.post("/api/me/erase/", {"password": "pw-123456-x"}, format="json")
    assert response.status_code == 409 and error_code(response) == "erasure_blocked"
    assert "in progress" in response.json()["error"]["message"]
    assert User.objects.get(pk=customer.pk).is_active
