"""Builders for quotes and payments, all through the real services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jobs.models import Bid, Job
from marketplace.accounts.models import User
from payments.payout_provider import PayoutReport
from payments.payouts import payout_create_for, payout_record
from quotes.models import QuoteAcceptance, QuoteVersion
from quotes.pricing import LineItem
from quotes.services import OptionInput, QuoteInput, quote_accept, quote_revise, quote_submit

D = Decimal


def lines(labour_hours: str = "2", rate: str = "45.00", materials: str = "30.00", callout: str = "25.00") -> list[LineItem]:
    return [
        LineItem("labour", "Labour", D(labour_hours), D(rate)),
        LineItem("materials", "Parts", D(1), D(materials)),
        LineItem("callout", "Call-out", D(1), D(callout)),
    ]


def quote(*options: OptionInput, **kw: Any) -> QuoteInput:
    return QuoteInput(options=list(options) or [OptionInput(lines=lines())], **kw)


def good_better_best() -> QuoteInput:
    return quote(
        OptionInput(lines=lines(labour_hours="1"), tier="good", title="Patch repair"),
        OptionInput(lines=lines(labour_hours="2"), tier="better", title="New washer and valve"),
        OptionInput(lines=lines(labour_hours="3", materials="90.00"), tier="best", title="New tap"),
    )


def submit(job: Job, pro_user: User, q: QuoteInput | None = None) -> QuoteVersion:
    return quote_submit(job=job, tradesperson=pro_user, quote=q or quote())


def revise(bid: Bid, pro_user: User, q: QuoteInput) -> QuoteVersion:
    return quote_revise(bid=bid, actor=pro_user, quote=q)


def accept(version: QuoteVersion, customer: User, *, tier: str = "standard", token: str = "tok_visa", **kw: Any) -> QuoteAcceptance:
    bid = version.bid
    return quote_accept(job=bid.job, bid=bid, actor=customer, version_number=version.number, tier=tier, card_token=token, **kw)


def pay_out(tradesperson: User) -> None:
    """Pay the tradesperson everything owed now, as a payout the provider reports paid (tests that need a settled payment)."""
    payout = payout_create_for(tradesperson_id=tradesperson.pk, at_least=D("0.01"))
    assert payout is not None
    payout_record(payout_id=payout.pk, report=PayoutReport(f"sim_po_test_{payout.pk}", "paid"))
