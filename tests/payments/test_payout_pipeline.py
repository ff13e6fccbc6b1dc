"""Payouts through Kafka: payout.* events on marketplace.payouts -> the finance consumer's payout rows and
balances; a stale (replayed) event does not move a payout back; a rebuild from the log gives the same rows.
Real broker, relay and runner."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finance.models import FinancePayout
from finance.selectors import finance_payout_balances, finance_totals
from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild
from payments import payouts
from payments.payout_provider import PayoutReport
from tests.events.pipeline import read_topic, relay_all, run_consumer_until
from tests.factories import pro

from .test_payouts import EARNED, done_job

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_the_finance_read_model_follows_each_payout(broker, customer) -> None:
    bob, ann = pro("bobkafka"), pro("annkafka")
    done_job(customer, bob)
    done_job(customer, ann)
    assert payouts.payouts_run() == 2
    paid, failed = (payouts.Payout.objects.get(tradesperson=who) for who in (bob, ann))
    payouts.payout_record(payout_id=paid.pk, report=PayoutReport("sim_po_k1", "in_transit"))
    payouts.payout_record(payout_id=paid.pk, report=PayoutReport("sim_po_k1", "paid"))
    payouts.payout_record(payout_id=failed.pk, report=PayoutReport("sim_po_k2", "failed", "account_closed"))
    relay_all()
    assert len(read_topic("marketplace.payouts", expect=5)) == 5

    finance = get_consumer("finance")
    run_consumer_until(
        lambda: (
            FinancePayout.objects.filter(payout_id=paid.pk, status="paid").exists()
            and FinancePayout.objects.filter(payout_id=failed.pk, status="failed").exists()
        ),
        finance,
    )
    row = FinancePayout.objects.get(payout_id=failed.pk)
    assert (row.tradesperson_id, row.amount, row.failure_reason) == (ann.pk, EARNED, "account_closed")
    totals = finance_totals()
    assert totals["payouts_failed"] == EARNED and totals["payouts_on_the_way"] is None
    balances = {b["tradesperson_id"]: b for b in finance_payout_balances()}
    assert balances[bob.pk]["paid"] == EARNED

    # Rebuilding from the log (every payout event is kept) gives the same rows; order per payout holds.
    before = sorted(FinancePayout.objects.values_list("payout_id", "status", "amount"))
    result = rebuild(finance, source="kafka")
    assert result.applied >= 5
    assert sorted(FinancePayout.objects.values_list("payout_id", "status", "amount")) == before
