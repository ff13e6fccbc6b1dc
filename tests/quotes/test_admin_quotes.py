"""Admin for quotes, payments and finance: read-only pages render for staff, the refund form refunds once, the Finance page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from finance.models import FinanceLedgerEntry, FinanceOpenPayment
from jobs import services as job_services
from marketplace.accounts.models import User
from payments.models import Payment, PaymentOperation
from payments.services import payment_collect
from quotes.models import QuoteAcceptance
from tests.factories import offer, post_job, pro
from tests.helpers import run_payments_executor

from .helpers import accept, good_better_best, submit

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def staff(django_user_model) -> User:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x")


@pytest.fixture
def paid(customer) -> Payment:
    """A job accepted (better option, tok_visa), done and collected: the payment is paid."""
    job = post_job(customer)
    bob = pro("bobadmin")
    offer(job, bob)
    acceptance = accept(submit(job, bob, good_better_best()), customer, tier="better")
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    payment_collect(job_id=job.pk)
    run_payments_executor()
    payment = Payment.objects.get(acceptance=acceptance)
    assert payment.status == Payment.Status.PAID
    return payment


def test_quote_payment_and_webhook_pages_render_for_staff(client, staff, paid) -> None:
    client.force_login(staff)
    acceptance = paid.acceptance
    version_page = client.get(reverse("admin:quotes_quoteversion_change", args=[acceptance.version_id]))
    assert version_page.status_code == 200
    body = version_page.content.decode()
    assert "New washer and valve" in body and "Labour" in body and 'name="_save"' not in body  # options with their lines, no save
    assert client.get(reverse("admin:quotes_quoteacceptance_change", args=[acceptance.pk])).status_code == 200
    payment_page = client.get(reverse("admin:payments_payment_change", args=[paid.pk]))
    text = payment_page.content.decode()
    assert payment_page.status_code == 200
    assert "tok_visa" in text  # the gateway's token is visible to staff; there is no card number to show
    assert reverse("admin:payments_payment_refund", args=[paid.pk]) in text
    assert "Capture balance" in text  # the operations inline
    changelist = client.get(reverse("admin:payments_payment_changelist"), {"status__exact": "paid", "q": str(paid.job_id)})
    assert changelist.status_code == 200 and reverse("admin:payments_payment_change", args=[paid.pk]) in changelist.content.decode()
    assert client.get(reverse("admin:payments_gatewaywebhook_changelist")).status_code == 200


def test_quote_versions_and_payments_cannot_be_changed_or_deleted_in_admin(client, staff, paid) -> None:
    client.force_login(staff)
    version_id = paid.acceptance.version_id
    assert client.post(reverse("admin:quotes_quoteversion_change", args=[version_id]), {"notes": "x"}).status_code == 403
    assert client.post(reverse("admin:quotes_quoteversion_delete", args=[version_id]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:payments_payment_delete", args=[paid.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:payments_payment_add")).status_code == 403


def _key(page_html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page_html)
    assert found, "the refund form carries a hidden idempotency key"
    return found.group(1)


def test_the_refund_form_refunds_once_even_if_submitted_twice(client, staff, paid) -> None:
    client.force_login(staff)
    url = reverse("admin:payments_payment_refund", args=[paid.pk])
    form = client.get(url)
    assert form.status_code == 200 and f"£{paid.captured}" in form.content.decode()
    data = {"amount": "20.00", "reason": "Late arrival", "idempotency_key": _key(form.content.decode())}
    first = client.post(url, data)
    second = client.post(url, data)  # a double click, or the back button and submit again
    assert first.status_code == second.status_code == 302
    paid.refresh_from_db()
    assert paid.refunded == D("20.00") and paid.status == Payment.Status.PARTIALLY_REFUNDED
    assert PaymentOperation.objects.filter(payment=paid, kind="refund", status="succeeded").count() == 1
    # A new render is a new key: a second, deliberate refund goes through.
    again = {**data, "idempotency_key": _key(client.get(url).content.decode())}
    client.post(url, again)
    paid.refresh_from_db()
    assert paid.refunded == D("40.00")


def test_refund_errors_are_shown_on_the_form(client, staff, paid) -> None:
    client.force_login(staff)
    url = reverse("admin:payments_payment_refund", args=[paid.pk])
    key = _key(client.get(url).content.decode())
    too_much = client.post(url, {"amount": str(paid.captured + 1), "reason": "Oops", "idempotency_key": key})
    assert too_much.status_code == 200
    assert f"At most £{paid.captured:,.2f} can be refunded." in too_much.content.decode()
    missing = client.post(url, {"amount": "", "reason": "", "idempotency_key": key})
    assert missing.status_code == 200 and "This field is required." in missing.content.decode()
    paid.refresh_from_db()
    assert paid.refunded == 0


def test_a_held_deposit_cannot_be_refunded(client, staff, customer) -> None:
    job = post_job(customer)
    bob = pro("bobheld")
    offer(job, bob)
    accept(submit(job, bob), customer)
    payment = Payment.objects.get(job=job)
    client.force_login(staff)
    url = reverse("admin:payments_payment_refund", args=[payment.pk])
    page = client.post(url, {"amount": "5.00", "reason": "x", "idempotency_key": _key(client.get(url).content.decode())})
    assert page.status_code == 200 and "cannot be refunded" in page.content.decode()


def test_the_finance_page_shows_the_read_model_with_its_lag(client, staff) -> None:
    now = timezone.now()
    FinanceLedgerEntry.objects.create(
        payment_id=7, job_id=70, tradesperson_id=1, captured=D("174.00"), refunded=D("20.00"), platform_revenue=D("13.23"),
        payout_paid=D("119.06"), last_sequence=3, updated_at=now,
    )  # fmt: skip
    FinanceOpenPayment.objects.create(
        payment_id=8, job_id=80, customer_id=2, tradesperson_id=1, status="deposit_held", held=D("34.80"),
        balance_due=D("139.20"), payout_due=D("0.00"), updated_at=now,
    )  # fmt: skip
    client.force_login(staff)
    page = client.get(reverse("admin:finance_finance"))
    assert page.status_code == 200
    text = page.content.decode()
    for figure in ("£174.00", "£20.00", "£13.23", "£119.06", "£34.80", "£139.20"):
        assert figure in text, figure
    assert "<code>finance</code> consumer" in text and "Last updated" in text
    assert reverse("admin:payments_payment_change", args=[8]) in text
    # The index links to it: the ledger's changelist is the Finance page.
    assert client.get(reverse("admin:finance_financeledgerentry_changelist")).content.decode().count("Open payments") == 1


def test_finance_and_refund_are_staff_only(client, customer, paid, django_user_model) -> None:
    finance, refund = reverse("admin:finance_finance"), reverse("admin:payments_payment_refund", args=[paid.pk])
    assert client.get(finance).status_code == 302  # anonymous: to the admin login
    client.force_login(customer)
    for url in (finance, refund):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # Staff without the permission to view payments: forbidden.
    clerk = django_user_model.objects.create_user("clerk", password="pw-123456-x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_promocode"))
    client.force_login(clerk)
    assert client.get(finance).status_code == 403
    assert client.post(refund, {"amount": "1.00", "reason": "x", "idempotency_key": "abc"}).status_code == 403
    paid.refresh_from_db()
    assert paid.refunded == 0
    assert QuoteAcceptance.objects.count() == 1
