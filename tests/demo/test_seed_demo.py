"""The demo data is a living marketplace: every demo job reaches tradespeople through matching,
demo bids carry itemised quotes, and two jobs are already accepted (one deposit held, one completed
and then, through the ``payments`` consumer, waiting for its customer to sign it off)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from jobs.models import Bid, Job, PortfolioPhoto
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from payments.models import Payment
from quotes.models import PromoCode, PromoRedemption, QuoteAcceptance, QuoteOption, QuoteVersion, ServiceOffering
from tests.events.pipeline import relay_all, run_consumer_until

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> dict[str, int]:
    models = (Job, Bid, QuoteVersion, QuoteOption, QuoteAcceptance, Payment, PromoCode, PromoRedemption, ServiceOffering, PortfolioPhoto)
    return {m.__name__: m.objects.count() for m in models}


def test_demo_data_has_itemised_quotes_and_accepted_jobs(broker) -> None:
    call_command("seed_demo", verbosity=0)
    before = _counts()
    call_command("seed_demo", verbosity=0)  # a second run changes nothing
    assert _counts() == before
    assert before["Job"] == 7 and before["Bid"] == 5 and before["QuoteVersion"] == 6  # one bid revised to v2
    assert Bid.objects.filter(quote_versions__number=2).count() == 1
    # A new user finds bookable fixed-price services and a portfolio on Bob's profile.
    assert set(ServiceOffering.objects.filter(pro__username="bob", active=True).values_list("title", flat=True)) == {
        "Boiler service",
        "Tap replacement",
    }
    photos = PortfolioPhoto.objects.filter(profile__user__username="bob")
    assert photos.count() == 2 and all(p.image and p.thumbnail and p.caption for p in photos)
    tiers = set(QuoteOption.objects.filter(version__bid__tradesperson__username="bob").values_list("tier", flat=True))
    assert tiers == {"good", "better", "best"}
    assert PromoCode.objects.get(code="DEMO10").max_uses_per_customer == 1
    held = Payment.objects.get(job__title="Fit three internal doors")
    assert held.status == Payment.Status.DEPOSIT_HELD and held.held == held.acceptance.deposit > 0 and held.card_token == "tok_visa"
    done = Payment.objects.get(job__title="Paint living room")
    assert done.job.status == Job.Status.COMPLETED and done.acceptance.promo_code == "DEMO10" and done.acceptance.promo_amount > 0

    relay_all()
    payments = ConsumerRunner(get_consumer("payments"))
    # Left for the demo's customer to approve (or report a problem) on the job page: nothing is charged yet.
    run_consumer_until(lambda: Payment.objects.get(pk=done.pk).status == Payment.Status.AWAITING_APPROVAL, runner=payments)
    done.refresh_from_db()
    assert done.captured == 0 and done.held == done.acceptance.deposit and done.approval_due_at is not None


def test_demo_jobs_fan_out_to_nearby_tradespeople(broker, capsys) -> None:
    call_command("seed_demo", verbosity=0)
    relay_all()
    runner = ConsumerRunner(get_consumer("matching"))
    posted = Job.objects.count()
    run_consumer_until(lambda: runner.stats.processed >= posted, runner=runner)  # every job.posted handled
    assert runner.stats.dead_lettered == 0
    fan_out = dict(Job.objects.annotate(n=Count("leads")).values_list("title", "n"))
    assert all(n >= 1 for n in fan_out.values()), fan_out
    with capsys.disabled():
        print(f"\ndemo fan-out (leads per job): {fan_out}")
