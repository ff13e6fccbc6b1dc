"""Quotes through the real services and Postgres: publish, revise, freeze, accept (deposit held), refusals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import Bid, Job
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from payments.models import Payment, PaymentOperation
from quotes.models import PromoCode, QuoteAcceptance, QuoteLine, QuoteOption, QuoteVersion
from quotes.pricing import LineItem
from quotes.services import OptionInput
from tests.factories import offer, post_job, pro

from .helpers import accept, good_better_best, lines, quote, revise, submit

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def job(customer):
    return post_job(customer)


@pytest.fixture
def bob(job):
    user = pro("bobquotes")
    offer(job, user)
    return user


def types(job: Job) -> list[str]:
    return list(
        OutboxEvent.objects.filter(key=str(job.pk), topic="marketplace.jobs").order_by("sequence").values_list("event_type", flat=True)
    )


def test_a_quote_is_priced_by_the_engine_and_the_bid_follows_its_total(job, bob):
    version = submit(job, bob)
    option = version.options.get()
    # 2 x 45 + 30 + 25 = 145 net; 20% VAT 29; total 174; fee 10% of net 14.50; deposit 20% of total 34.80.
    assert (option.subtotal, option.net, option.tax, option.total) == (D("145.00"), D("145.00"), D("29.00"), D("174.00"))
    assert (option.platform_fee, option.payout, option.deposit, option.balance) == (D("14.50"), D("130.50"), D("34.80"), D("139.20"))
    assert [line.amount for line in option.lines.all()] == [D("90.00"), D("30.00"), D("25.00")]
    assert version.bid.amount == D("174.00")  # what the customer pays, VAT included
    assert types(job)[-2:] == ["bid.placed", "quote.published"]


def test_a_revision_is_a_new_version_with_what_changed(job, bob):
    v1 = submit(job, bob)
    v2 = revise(v1.bid, bob, quote(OptionInput(lines=lines(labour_hours="3"))))
    assert v2.number == 2 and QuoteVersion.objects.filter(bid=v1.bid).count() == 2
    published = OutboxEvent.objects.filter(event_type="quote.published").order_by("-id").first()
    assert published is not None
    changes = published.envelope["data"]["changes"]
    assert any("Labour" in c for c in changes) and any(c.startswith("Total") for c in changes)
    assert Bid.objects.get(pk=v1.bid.pk).amount == D("228.00")  # 190 net + 38 VAT


def test_quote_rows_are_append_only_in_the_database(job, bob):
    version = submit(job, bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuoteLine.objects.filter(option__version=version).update(unit_price=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        QuoteOption.objects.filter(version=version).update(total=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        QuoteVersion.objects.filter(pk=version.pk).update(notes="changed")


def test_refusals_write_nothing(job, bob):
    too_many = quote(OptionInput(lines=[LineItem("other", f"Item {i}", D(1), D(1)) for i in range(31)]))
    with pytest.raises(ServiceError) as err:
        submit(job, bob, too_many)
    assert err.value.code == "too_many_lines"
    with pytest.raises(ServiceError) as err:
        submit(job, bob, quote(OptionInput(lines=[LineItem("other", "Huge", D(1), D("100000.01"))])))
    assert err.value.code == "amount_too_large"
    with pytest.raises(ServiceError) as err:
        submit(job, bob, quote(valid_until=timezone.localdate() - timedelta(days=1)))
    assert err.value.code == "bad_valid_until"
    assert not Bid.objects.filter(job=job).exists() and not QuoteVersion.objects.exists()


def test_accept_holds_the_deposit_awards_and_declines_the_others(job, bob, customer):
    carol = pro("carolquotes")
    offer(job, carol)
    other = submit(job, carol)
    version = submit(job, bob, good_better_best())
    acceptance = accept(version, customer, tier="better")
    job.refresh_from_db()
    assert job.status == Job.Status.AWARDED and job.awarded_bid_id == version.bid_id
    assert Bid.objects.get(pk=other.bid_id).status == Bid.Status.DECLINED
    option = version.options.get(tier="better")
    assert acceptance.total == option.total and acceptance.deposit == option.deposit
    payment = Payment.objects.get(job=job)
    assert payment.status == Payment.Status.DEPOSIT_HELD and payment.held == option.deposit
    assert QuoteVersion.objects.get(pk=version.pk).accepted_at is not None
    assert {"quote.accepted", "job.awarded", "bid.declined", "payment.deposit_authorized"} <= set(types(job))
    snapshot = OutboxEvent.objects.get(topic="marketplace.payments", event_type="payment.snapshot")
    assert snapshot.key == str(payment.pk) and snapshot.envelope["data"]["held"] == str(option.deposit)
    # Accepting the same thing again changes nothing and holds nothing more.
    assert accept(version, customer, tier="better").pk == acceptance.pk
    assert PaymentOperation.objects.filter(kind="authorize_deposit").count() == 1
    with pytest.raises(ServiceError) as err:
        accept(other, customer)
    assert err.value.code == "already_accepted"


def test_a_declined_card_leaves_the_job_open(job, bob, customer):
    version = submit(job, bob)
    with pytest.raises(ServiceError) as err:
        accept(version, customer, token="tok_decline")
    assert status_for(err.value) == 402 and err.value.code == "card_declined"
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN and not QuoteAcceptance.objects.exists() and not Payment.objects.exists()
    assert "payment.failed" in types(job)
    assert accept(version, customer).job_id == job.pk


def test_an_old_or_expired_version_cannot_be_accepted(job, bob, customer):
    v1 = submit(job, bob)
    revise(v1.bid, bob, quote(OptionInput(lines=lines(labour_hours="4"))))
    with pytest.raises(ServiceError) as err:
        accept(v1, customer)
    assert err.value.code == "quote_changed"
    v3 = revise(v1.bid, bob, quote(valid_until=timezone.localdate()))
    with pytest.raises(ServiceError) as err:
        accept(v3, customer, expected_total=D("1.00"))
    assert err.value.code == "total_changed"
    # A version whose validity has passed (written directly: the service refuses a past date).
    stale = QuoteVersion.objects.create(bid=v1.bid, number=4, valid_until=timezone.localdate() - timedelta(days=1))
    figures = {
        k: getattr(v3.options.get(), k)
        for k in ("subtotal", "discounts_total", "net", "tax", "total", "platform_fee", "payout", "deposit", "balance")
    }
    QuoteOption.objects.create(version=stale, **figures)
    with pytest.raises(ServiceError) as err:
        accept(stale, customer)
    assert err.value.code == "quote_expired"
    assert not Payment.objects.exists() and not PaymentOperation.objects.exists()


def test_a_promo_is_applied_and_redeemed_once(job, bob, customer):
    PromoCode.objects.create(code="SAVE10", kind="percent", value=D("10"), max_uses=1)
    version = submit(job, bob)
    acceptance = accept(version, customer, promo_code="save10")
    assert acceptance.promo_amount == D("14.50") and acceptance.net == D("130.50")
    assert acceptance.total == D("156.60") and acceptance.deposit == D("31.32")
    assert PromoCode.objects.get(code="SAVE10").uses == 1


def test_the_earliest_start_goes_with_the_quote_and_its_revisions(job, bob):
    start = timezone.now() + timedelta(days=2)
    version = submit(job, bob, quote(earliest_start=start))
    assert Bid.objects.get(pk=version.bid_id).earliest_start == start
    later = start + timedelta(days=1)
    revise(version.bid, bob, quote(earliest_start=later))
    assert Bid.objects.get(pk=version.bid_id).earliest_start == later


def test_the_accepted_option_becomes_the_bids_amount(job, bob, customer):
    version = submit(job, bob, good_better_best())
    accept(version, customer, tier="best")
    best = version.options.get(tier="best")
    # What the customer agreed to pay, VAT included: not the cheapest option's figure the bid showed before.
    assert Bid.objects.get(pk=version.bid_id).amount == best.total != min(o.total for o in version.options.all())
    awarded = OutboxEvent.objects.get(event_type="job.awarded")
    assert awarded.envelope["data"]["amount"] == str(best.total)
