"""The invoice / receipt page: figures from the frozen contract and the payment, who may see it, clean print."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Job
from marketplace.accounts.models import User
from payments.models import Payment
from payments.services import payment_cancel, payment_collect, payment_refund
from quotes.models import PromoCode, QuoteAcceptance
from quotes.pricing import Discount, LineItem
from quotes.services import OptionInput
from tests.factories import offer, post_job, pro
from tests.helpers import run_payments_executor

from .helpers import accept, lines, quote, submit

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def bob(db) -> User:
    return pro("bobinvoice", business_name="Bob's Plumbing")


@pytest.fixture
def staff(django_user_model) -> User:
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x")


def _accepted(customer: User, bob: User, job_kw: dict[str, Any] | None = None, **accept_kw: Any) -> tuple[Job, QuoteAcceptance]:
    job = post_job(customer, **(job_kw or {}))
    offer(job, bob)
    q = quote(
        OptionInput(lines=[*lines(), LineItem("discount", "Loyalty", D(1), D("5.00"))]),
        discount=Discount("percent", D("10")),
    )
    return job, accept(submit(job, bob, q), customer, **accept_kw)


def _completed(customer: User, bob: User, **accept_kw: Any) -> tuple[Job, QuoteAcceptance, Payment]:
    job, acceptance = _accepted(customer, bob, **accept_kw)
    job_services.job_start_work(job=job, actor=bob)
    job_services.job_complete(job=job, actor=bob)
    payment_collect(job_id=job.pk)
    run_payments_executor()
    return job, acceptance, Payment.objects.get(job=job)


def figures(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in re.findall(r'data-figure="([a-z_]+)">(?:−)?£([0-9,.]+)<', html):
        found.setdefault(name, []).append(value)
    return found


def test_the_customer_invoice_equals_the_acceptance(client, customer, bob) -> None:
    PromoCode.objects.create(code="SAVE5", kind="fixed", value=D("5.00"))
    job, acceptance, payment = _completed(customer, bob, promo_code="SAVE5")
    client.force_login(customer)
    page = client.get(reverse("job-invoice", args=[job.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    got = figures(html)
    assert got["subtotal"] == [str(acceptance.subtotal)] and got["net"] == [str(acceptance.net)]
    assert got["tax"] == [str(acceptance.tax)] and got["total"] == [str(acceptance.total)]
    assert got["promo"] == [str(acceptance.promo_amount)] == ["5.00"]
    assert got["discounts"] == [str(acceptance.discounts_total - acceptance.promo_amount)]
    assert got["amount_paid"] == [str(acceptance.total)] == [str(acceptance.deposit + acceptance.balance)]
    assert "platform_fee" not in got and "payout" not in got  # the customer does not see the tradesperson's split
    assert payment.invoice.number in html and payment.invoice.number == f"TL{bob.pk}-00001"
    assert "VAT at 20 %" in html and "Promo code SAVE5" in html and "paid for by TradeLink" in html
    # Each line: quantity x unit price = amount, as quoted (the discount line taken off).
    for line in acceptance.option.lines.all():
        assert line.quantity * line.unit_price == line.amount
        assert f"£{line.unit_price}" in html and f"£{line.amount}" in html
    assert "−£5.00" in html  # the discount line
    # The supplier as registered (the profile's legal name), with its address and VAT number.
    assert "Bobinvoice Trading Ltd" in html and "1 Upper Street" in html and "VAT number GB123456789" in html
    assert str(customer) in html
    assert customer.email not in html and "@" not in html.split('<article class="invoice"')[1].split("</article>")[0]


def test_the_tradesperson_sees_platform_fee_and_payout(client, customer, bob) -> None:
    job, acceptance, _ = _completed(customer, bob)
    client.force_login(bob)
    got = figures(client.get(reverse("job-invoice", args=[job.pk])).content.decode())
    # The payout is what the customer paid less the platform fee (the VAT goes to the tradesperson, who charges it).
    assert got["platform_fee"] == [str(acceptance.platform_fee)]
    assert got["payout"] == [str(acceptance.total - acceptance.platform_fee)] == [str(acceptance.payout + acceptance.tax)]


def test_refunds_are_listed_and_reduce_the_amount_paid(client, customer, bob, staff) -> None:
    job, acceptance, payment = _completed(customer, bob)
    payment_refund(payment=payment, actor=staff, amount=D("10.00"), reason="Late arrival", idempotency_key="inv-1")
    client.force_login(customer)
    html = client.get(reverse("job-invoice", args=[job.pk])).content.decode()
    got = figures(html)
    # The issued invoice keeps what was paid; the refund is a credit listed below it.
    assert got["amount_paid"] == [str(acceptance.total)]
    assert got["refund"] == ["10.00"] and got["amount_kept"] == [str(acceptance.total - D("10.00"))]
    assert "Late arrival" in html and "Refund (credit)" in html


def test_a_late_cancellation_has_a_receipt_for_the_fee(client, customer, bob) -> None:
    window = timezone.now() + timedelta(hours=3)
    job, acceptance = _accepted(customer, bob, job_kw={"window_start": window, "window_end": window + timedelta(hours=2)})
    # The customer cancels an hour after accepting, two hours before the appointment: half the deposit is kept.
    payment_cancel(job_id=job.pk, cancelled_at=acceptance.accepted_at + timedelta(hours=1), by_customer=True)
    run_payments_executor()
    payment = Payment.objects.get(job=job)
    assert payment.status == Payment.Status.CANCELLED and payment.cancellation_fee == (acceptance.deposit / 2).quantize(D("0.01"))
    client.force_login(customer)
    html = client.get(reverse("job-invoice", args=[job.pk])).content.decode()
    got = figures(html)
    assert "Cancellation receipt" in html and got["cancellation_fee"] == [str(payment.cancellation_fee)]
    assert got["amount_paid"] == [str(payment.cancellation_fee)] and "deposit_taken" not in got


def test_a_free_cancellation_has_no_invoice(client, customer, bob) -> None:
    job, acceptance = _accepted(customer, bob)
    payment_cancel(job_id=job.pk, cancelled_at=acceptance.accepted_at, by_customer=True)  # within the free minutes
    run_payments_executor()
    assert Payment.objects.get(job=job).status == Payment.Status.CANCELLED
    client.force_login(customer)
    page = client.get(reverse("job-invoice", args=[job.pk]))
    assert page.status_code == 200 and "No invoice yet" in page.content.decode() and "without a fee" in page.content.decode()


def test_no_invoice_yet_while_the_deposit_is_held_or_nothing_accepted(client, customer, bob) -> None:
    open_job = post_job(customer)
    client.force_login(customer)
    page = client.get(reverse("job-invoice", args=[open_job.pk]))
    assert page.status_code == 200 and "No invoice yet" in page.content.decode()
    job, _ = _accepted(customer, bob)
    page = client.get(reverse("job-invoice", args=[job.pk]))
    assert page.status_code == 200 and "deposit is held" in page.content.decode() and "data-figure" not in page.content.decode()


def test_who_may_see_the_invoice(client, customer, other_customer, bob, staff) -> None:
    job, _, _ = _completed(customer, bob)
    url = reverse("job-invoice", args=[job.pk])
    assert client.get(url).status_code == 302  # log in first
    other_pro = pro("otherpro")
    offer(job, other_pro)
    for outsider in (other_customer, other_pro):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    for insider in (customer, bob, staff):
        client.force_login(insider)
        assert client.get(url).status_code == 200
    client.force_login(customer)
    assert client.get(reverse("job-invoice", args=[job.pk + 999])).status_code == 404


def test_dates_are_in_the_viewers_time_zone(client, customer, bob) -> None:
    job, _, _ = _completed(customer, bob)
    customer.time_zone = "Asia/Tokyo"
    customer.save(update_fields=["time_zone"])
    client.force_login(customer)
    html = client.get(reverse("job-invoice", args=[job.pk])).content.decode()
    assert "JST" in html and "Asia/Tokyo" in html


def test_the_print_stylesheet_is_linked_and_hides_the_chrome(client, customer, bob) -> None:
    job, _, _ = _completed(customer, bob)
    client.force_login(customer)
    html = client.get(reverse("job-invoice", args=[job.pk])).content.decode()
    assert 'href="/static/css/invoice.css"' in html and "data-print" in html and ">Print<" in html
    from django.contrib.staticfiles import finders

    path = finders.find("css/invoice.css")
    assert path, "static/css/invoice.css is collected"
    css = open(path, encoding="utf-8").read()  # noqa: SIM115
    print_rules = css[css.index("@media print") :]
    for selector in (".topbar", "nav", ".bell", ".no-print", "button"):
        assert selector in print_rules, selector
    assert "break-inside: avoid" in print_rules and "size: A4" in print_rules
