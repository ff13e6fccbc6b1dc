"""The tradesperson's payout pages (only the owner and staff; others 404) and the payouts admin (statement lines, retry)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from marketplace.accounts.models import User
from payments import payouts
from payments.models import Payout
from payments.payout_provider import PayoutReport
from payments.services import payment_refund
from tests.factories import pro

from .test_payouts import EARNED, done_job

pytestmark = pytest.mark.django_db
D = Decimal


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob(db: None) -> User:
    return pro("bobpages")


@pytest.fixture
def payout(customer, bob) -> Payout:
    with time_machine.travel(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), tick=False):
        done_job(customer, bob)
        created = payouts.payout_create_for(tradesperson_id=bob.pk, at_least=D("0.01"))
    assert created is not None
    return created


def test_the_owner_sees_balance_history_and_statement_in_their_time_zone(bob, payout, customer):
    bob.time_zone = "Europe/London"
    bob.save()
    client = client_for(bob)
    page = client.get(reverse("payouts")).content.decode()
    assert "On its way to your bank" in page and f"£{EARNED}" in page and "Pending" in page
    assert reverse("payout-statement", args=[payout.pk]) in page
    assert f'href="{reverse("payouts")}" class="active"' in page  # linked from the tradesperson's navigation

    statement = client.get(reverse("payout-statement", args=[payout.pk])).content.decode()
    assert "created 1 Jul 2026, 23:30 BST" in statement  # 22:30 UTC, shown in London summer time
    assert "Customer paid" in statement and "£174.00" in statement and "TradeLink fee" in statement and "−£14.50" in statement
    assert "We&#x27;re sending this payout to your bank." in statement
    assert "Promo" not in statement  # no promo on this job


@pytest.mark.parametrize(("funder", "who"), [("platform", "TradeLink"), ("business", "you")])
def test_the_statement_says_who_paid_a_promo_discount(bob, payout, funder, who):
    acceptance = payout.items.get().payment.acceptance
    acceptance.promo_amount, acceptance.promo_funded_by = D("12.50"), funder
    acceptance.save(update_fields=["promo_amount", "promo_funded_by"])
    statement = client_for(bob).get(reverse("payout-statement", args=[payout.pk])).content.decode()
    assert f"Promo discount (paid by {who})" in statement and "£12.50" in statement


def test_a_recovered_refund_reads_as_taken_back(bob, payout, customer):
    staff = User.objects.create_user("pages-staff", password="pw-123456-x", is_staff=True)
    payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_p1", "paid"))
    payment = payout.items.get().payment
    payment_refund(payment=payment, actor=staff, amount=D("100.00"), reason="Redone", idempotency_key="pages")
    page = client_for(bob).get(reverse("payouts")).content.decode()
    assert "−£91.67" in page and "comes off your next payout" in page
    done_job(customer, bob)
    second = payouts.payout_create_for(tradesperson_id=bob.pk, at_least=D("0.01"))
    assert second is not None
    statement = client_for(bob).get(reverse("payout-statement", args=[second.pk])).content.decode()
    assert "Refund recovered: Job #" in statement and "Taken back" in statement and "−£91.67" in statement
    assert "£67.83" in statement


def test_only_the_owner_and_staff_see_a_payout(bob, payout, customer):
    url = reverse("payout-statement", args=[payout.pk])
    other = pro("otherpages")
    staff = User.objects.create_user("pages-staff2", password="pw-123456-x", is_staff=True)
    assert client_for(other).get(url).status_code == 404
    assert client_for(customer).get(url).status_code == 404
    assert client_for(customer).get(reverse("payouts")).status_code == 404
    assert client_for(staff).get(url).status_code == 200
    assert client_for(bob).get(reverse("payout-statement", args=[payout.pk + 1000])).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # Someone else's payouts page lists only their own (none).
    assert reverse("payout-statement", args=[payout.pk]) not in client_for(other).get(reverse("payouts")).content.decode()


def test_admin_lists_payouts_with_their_statement_lines_and_retries_a_failed_one(bob, payout):
    staff = User.objects.create_superuser("payouts-admin", "admin@example.com", "pw-123456-x")
    client = client_for(staff)
    listing = client.get(reverse("admin:payments_payout_changelist") + "?status__exact=pending").content.decode()
    assert f"Payout {payout.pk}" in listing or f">{payout.pk}<" in listing
    change = client.get(reverse("admin:payments_payout_change", args=[payout.pk])).content.decode()
    assert "Previously paid" in change and "174.00" in change and "159.50" in change

    payouts.payout_record(payout_id=payout.pk, report=PayoutReport("sim_po_a1", "failed", "account_closed"))
    response = client.post(
        reverse("admin:payments_payout_changelist"),
        {"action": "retry_failed", "_selected_action": [payout.pk]},
        follow=True,
    )
    assert response.status_code == 200
    retry = Payout.objects.get(retry_of=payout)
    assert (retry.amount, retry.status, retry.requested_by_id) == (EARNED, "pending", staff.pk)
    assert f"retried as payout {retry.pk}" in response.content.decode()
    # Finance page shows the payout balances table.
    finance = client.get(reverse("admin:finance_finance")).content.decode()
    assert "finance-payout-balances" in finance


def test_times_follow_the_viewer(bob, payout):
    bob.time_zone = "America/New_York"
    bob.save()
    statement = client_for(bob).get(reverse("payout-statement", args=[payout.pk])).content.decode()
    local = payout.created_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert local.strftime("%H:%M") in statement and "EDT" in statement
