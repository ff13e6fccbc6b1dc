"""Issued invoices: VAT per business, gapless numbers per business, every required field, the PDF and the email."""

from __future__ import annotations

import io
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from pypdf import PdfReader

from jobs import services as job_services
from jobs.models import Job
from jobs.services import InvoiceDetails, pro_profile_save
from marketplace.accounts.models import User
from payments.models import Payment
from payments.services import payment_collect
from quotes.invoice_pdf import invoice_pdf
from quotes.invoicing import invoice_emails_send_pending, invoice_issue
from quotes.models import Invoice, InvoiceEmail, InvoiceSequence, PromoCode, QuoteAcceptance
from tests.factories import CustomerFactory, offer, post_job, pro
from tests.helpers import run_payments_executor

from .helpers import accept, submit

pytestmark = pytest.mark.django_db
D = Decimal
NOT_REGISTERED = InvoiceDetails(legal_name="Sam Small Jobs", business_address="2 Side Lane\nLondon N7 1AA", vat_registered=False)


def _accepted(customer: User, tradesperson: User, **accept_kw: Any) -> tuple[Job, QuoteAcceptance]:
    job = post_job(customer, place="Islington N1")
    offer(job, tradesperson)
    return job, accept(submit(job, tradesperson), customer, **accept_kw)


def _complete(job: Job, tradesperson: User) -> None:
    job_services.job_start_work(job=job, actor=tradesperson)
    job_services.job_complete(job=job, actor=tradesperson)


def _charge(job_id: int) -> None:
    """What happens after completion: the payments consumer records the intent, the executor charges (and the invoice is issued)."""
    with transaction.atomic():  # as the payments consumer runs it: inside its transaction
        payment_collect(job_id=job_id)
    run_payments_executor()


def _paid(customer: User, tradesperson: User, **accept_kw: Any) -> tuple[Job, QuoteAcceptance, Payment]:
    job, acceptance = _accepted(customer, tradesperson, **accept_kw)
    _complete(job, tradesperson)
    _charge(job.pk)
    return job, acceptance, Payment.objects.get(job=job)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# --- VAT per business -------------------------------------------------------------------------------


def test_a_business_that_is_not_vat_registered_quotes_without_vat(customer) -> None:
    sam = pro("samsmall", invoicing=NOT_REGISTERED)
    job = post_job(customer)
    offer(job, sam)
    option = submit(job, sam).options.get()
    assert option.tax == 0 and option.total == option.net == D("145.00")
    assert option.version.tax_rate == 0


def test_a_registered_business_quotes_with_its_own_rate(customer) -> None:
    reduced = pro("reduced", invoicing=InvoiceDetails(vat_registered=True, vat_number="GB987654321", vat_rate=D("0.05")))
    job = post_job(customer)
    offer(job, reduced)
    option = submit(job, reduced).options.get()
    assert option.net == D("145.00") and option.tax == D("7.25") and option.total == D("152.25")


def test_a_quote_keeps_the_rate_it_was_shown_with_when_the_business_registers_later(customer) -> None:
    sam = pro("samlater", invoicing=NOT_REGISTERED)
    job = post_job(customer)
    offer(job, sam)
    version = submit(job, sam)
    profile = sam.pro_profile
    pro_profile_save(
        user=sam,
        business_name=profile.business_name,
        trades=list(profile.trades.all()),
        base_latitude=profile.base_latitude,
        base_longitude=profile.base_longitude,
        invoicing=InvoiceDetails(vat_registered=True, vat_number="GB123456789"),
    )
    acceptance = accept(version, customer)
    # One price everywhere: the customer pays the total they were shown, without VAT.
    assert acceptance.tax == 0 and acceptance.total == acceptance.net and acceptance.tax_rate == 0


def test_the_quote_card_says_no_vat_is_charged(client, customer) -> None:
    sam = pro("samcard", invoicing=NOT_REGISTERED)
    job = post_job(customer)
    offer(job, sam)
    submit(job, sam)
    client.force_login(customer)
    html = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "No VAT charged" in html


# --- issuing and numbering ----------------------------------------------------------------------------


def test_the_invoice_is_issued_once_when_the_payment_is_paid(customer) -> None:
    bob = pro("bobissue")
    job, _acceptance = _accepted(customer, bob)
    assert not Invoice.objects.filter(job=job).exists()  # the deposit is only held
    _complete(job, bob)
    _charge(job.pk)
    payment = Payment.objects.get(job=job)
    assert payment.status == Payment.Status.PAID
    invoice = Invoice.objects.get(job=job)
    with transaction.atomic():
        assert invoice_issue(payment=payment) == invoice  # idempotent
        payment.save()  # saving the paid payment again issues nothing new
    assert Invoice.objects.filter(job=job).count() == 1 and invoice.number == f"TL{bob.pk}-00001"


def test_every_required_field_is_frozen_on_the_invoice(customer) -> None:
    PromoCode.objects.create(code="SAVE5", kind="fixed", value=D("5.00"))
    bob = pro("bobfields", business_name="Bob's Plumbing")
    _job, acceptance, payment = _paid(customer, bob, promo_code="SAVE5")
    invoice = payment.invoice
    assert invoice.sequence_number == 1 and invoice.number.startswith(f"TL{bob.pk}-")
    assert payment.settled_at is not None and invoice.tax_point == payment.settled_at.date() and invoice.issued_at is not None
    assert invoice.supplier_name == "Bobfields Trading Ltd" and "1 Upper Street" in invoice.supplier_address
    assert invoice.supplier_vat_registered and invoice.supplier_vat_number == "GB123456789"
    assert invoice.customer_name == str(customer) and invoice.customer_address == "Islington N1"
    assert [line["description"] for line in invoice.lines] == ["Labour", "Parts", "Call-out"]
    assert (invoice.net, invoice.vat, invoice.total) == (acceptance.net, acceptance.tax, acceptance.total)
    assert invoice.vat_rate == D("0.2000") and invoice.total == invoice.net + invoice.vat
    assert invoice.promo_code == "SAVE5" and invoice.promo_amount == D("5.00") and invoice.promo_funded_by == "platform"
    assert invoice.amount_paid == acceptance.total
    assert "simulated card processor" in invoice.gateway_name
    # Editing the profile afterwards does not rewrite an issued invoice.
    profile = bob.pro_profile
    profile.legal_name = "Renamed Ltd"
    profile.save()
    invoice.refresh_from_db()
    assert invoice.supplier_name == "Bobfields Trading Ltd"


def test_a_business_that_is_not_registered_issues_an_invoice_without_vat(client, customer) -> None:
    sam = pro("samvat", invoicing=NOT_REGISTERED)
    job, acceptance, payment = _paid(customer, sam)
    invoice = payment.invoice
    assert not invoice.supplier_vat_registered and invoice.supplier_vat_number == "" and invoice.vat == 0
    assert invoice.total == invoice.net == acceptance.total
    client.force_login(customer)
    html = client.get(reverse("job-invoice", args=[job.pk])).content.decode()
    assert "Not VAT registered" in html and "VAT invoice" not in html and "None: not VAT registered" in html
    assert "Not VAT registered" in _text(invoice_pdf(invoice))


def test_numbers_count_per_business_and_a_rollback_leaves_no_gap(customer) -> None:
    bob, eve = pro("bobseq"), pro("eveseq")
    first, _ = _accepted(customer, bob)
    second, _ = _accepted(customer, bob)
    other, _ = _accepted(customer, eve)
    for job, worker in ((first, bob), (second, bob), (other, eve)):
        _complete(job, worker)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        payment = Payment.objects.get(job=first)
        payment.status, payment.captured, payment.held = Payment.Status.PAID, payment.acceptance.total, D(0)
        payment.save()  # as the executor's recording transaction does once the balance is taken
        assert Invoice.objects.get(job=first).sequence_number == 1
        raise Boom  # the transaction that issued number 1 rolls back
    assert not Invoice.objects.filter(job=first).exists()
    assert not InvoiceSequence.objects.filter(supplier=bob, last_number__gt=0).exists()
    for job in (second, other, first):
        _charge(job.pk)
    assert Invoice.objects.get(job=second).number == f"TL{bob.pk}-00001"
    assert Invoice.objects.get(job=first).number == f"TL{bob.pk}-00002"
    assert Invoice.objects.get(job=other).number == f"TL{eve.pk}-00001"


@pytest.mark.django_db(transaction=True)
def test_payments_settling_at_once_get_consecutive_numbers() -> None:
    bob = pro("bobrace")
    jobs = []
    for i in range(4):
        customer = CustomerFactory.create(username=f"racecust{i}", email=f"race{i}@example.com")
        job, _ = _accepted(customer, bob)
        _complete(job, bob)
        jobs.append(job)
    for job in jobs:  # the payments consumer records each intent
        with transaction.atomic():
            payment_collect(job_id=job.pk)
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def settle() -> None:  # four executors charge them at once: the invoices are issued concurrently
        try:
            barrier.wait()
            run_payments_executor()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle) for _ in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Invoice.objects.filter(supplier=bob).values_list("sequence_number", flat=True))
    assert numbers == [1, 2, 3, 4]
    assert InvoiceSequence.objects.get(supplier=bob).last_number == 4


# --- the PDF and the email ----------------------------------------------------------------------------


def test_the_pdf_holds_the_invoice(customer) -> None:
    bob = pro("bobpdf")
    _, acceptance, payment = _paid(customer, bob)
    data = invoice_pdf(payment.invoice)
    assert data.startswith(b"%PDF")
    text = _text(data)
    for expected in (
        payment.invoice.number,
        "Bobpdf Trading Ltd",
        "1 Upper Street",
        "VAT number GB123456789",
        str(customer),
        "Islington N1",
        "Tax point",
        "VAT at 20 %",
        f"£{acceptance.total}",
        "simulated card processor",
    ):
        assert expected in text, expected


def test_the_pdf_shows_a_tip_and_what_a_dispute_took_off(customer) -> None:
    _, _, payment = _paid(customer, pro("bobtip"))
    Payment.objects.filter(pk=payment.pk).update(tip=D("10.00"), reduction=D("5.00"))
    text = _text(invoice_pdf(Invoice.objects.get(payment=payment)))
    assert "Tip (all to the tradesperson; no VAT)" in text and "£10.00" in text
    assert "Taken off after a reported problem" in text and "-£5.00" in text


def test_the_pdf_falls_back_to_helvetica_without_the_font(customer, settings) -> None:
    settings.INVOICES = {**settings.INVOICES, "PDF_FONT": "/nonexistent/font.ttf"}
    _, acceptance, payment = _paid(customer, pro("bobnofont"))
    text = _text(invoice_pdf(payment.invoice))
    assert payment.invoice.number in text and f"GBP {acceptance.total}" in text


def test_the_customer_is_emailed_the_pdf_after_commit(customer, django_capture_on_commit_callbacks) -> None:
    bob = pro("bobmail")
    job, acceptance = _accepted(customer, bob)
    _complete(job, bob)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        _charge(job.pk)
    assert mail.outbox == [] and Invoice.objects.filter(job=job).exists()  # issued, but nothing sent before the commit
    for callback in after_commit:
        callback()
    invoice = Invoice.objects.get(job=job)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["a@example.com"] and invoice.number in message.subject
    filename, content, mimetype = message.attachments[0]
    assert filename == f"invoice-{invoice.number}.pdf" and mimetype == "application/pdf"
    assert isinstance(content, bytes) and content.startswith(b"%PDF") and invoice.number in _text(content)
    assert f"/jobs/{job.pk}/invoice/" in message.body and f"£{acceptance.total}" in message.body
    assert InvoiceEmail.objects.get(invoice=invoice).status == InvoiceEmail.Status.SENT
    assert invoice_emails_send_pending() == 0  # sent once


def test_a_failed_email_is_retried_by_the_clock(customer, settings, django_capture_on_commit_callbacks) -> None:
    bob = pro("bobretry")
    job, _ = _accepted(customer, bob)
    _complete(job, bob)
    settings.EMAIL_BACKEND = "tests.quotes.test_invoicing.FailingBackend"
    settings.INVOICES = {**settings.INVOICES, "EMAIL_RETRY_BASE_S": 0}
    with django_capture_on_commit_callbacks(execute=True):
        _charge(job.pk)
    row = InvoiceEmail.objects.get(invoice__job=job)
    assert row.status == InvoiceEmail.Status.PENDING and row.attempts == 1 and "SMTP down" in row.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    assert invoice_emails_send_pending() == 1 and len(mail.outbox) == 1


class FailingBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionError("SMTP down")


# --- who may see it -------------------------------------------------------------------------------------


def test_who_may_download_the_pdf(client, customer, other_customer, django_user_model) -> None:
    bob = pro("bobauth")
    job, _, payment = _paid(customer, bob)
    url = reverse("job-invoice-pdf", args=[job.pk])
    assert client.get(url).status_code == 302  # log in first
    outsider_pro = pro("outsiderpro")
    offer(job, outsider_pro)
    for outsider in (other_customer, outsider_pro):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    staff = django_user_model.objects.create_superuser("rootpdf", "root@example.com", "pw-123456-x")
    for insider in (customer, bob, staff):
        client.force_login(insider)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF") and payment.invoice.number in response["Content-Disposition"]
    client.force_login(customer)
    page = client.get(reverse("job-invoice", args=[job.pk])).content.decode()
    assert f'href="{url}"' in page
    unpaid, _ = _accepted(customer, bob)
    assert client.get(reverse("job-invoice-pdf", args=[unpaid.pk])).status_code == 404
