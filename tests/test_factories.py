"""The factories build through the real services: defaults chain (a bid brings its job, lead and pro) and the outbox sees it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs.models import Bid, Lead, Trade
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from tests.factories import PASSWORD, BidFactory, CustomerFactory, StaffFactory, TradeFactory, TradespersonFactory, pro

pytestmark = pytest.mark.django_db


def test_users_have_the_test_password_and_their_role() -> None:
    customer, tradesperson, staff = CustomerFactory.create(), TradespersonFactory.create(), StaffFactory.create()
    assert (customer.role, tradesperson.role) == (User.Role.CUSTOMER, User.Role.TRADESPERSON)
    assert staff.is_staff and not customer.is_staff
    assert all(user.check_password(PASSWORD) for user in (customer, tradesperson, staff))
    assert len({customer.username, tradesperson.username, staff.username}) == 3


def test_a_trade_is_reused_by_slug_and_named_after_it() -> None:
    assert TradeFactory.create() == TradeFactory.create(slug="plumbing")
    assert TradeFactory.create(slug="gas-safe").name == "Gas Safe"
    assert Trade.objects.count() == 2


def test_a_bid_by_default_brings_a_job_a_lead_and_a_tradesperson_through_the_services() -> None:
    bid = BidFactory.create()
    assert bid.amount == Decimal("120.00") and bid.status == Bid.Status.ACTIVE
    assert Lead.objects.filter(job=bid.job, tradesperson=bid.tradesperson).exists()
    assert bid.tradesperson.pro_profile.trades.get() == bid.job.trade
    events = list(OutboxEvent.objects.order_by("id").values_list("event_type", flat=True))
    assert events[0] == "job.posted" and events[-2:] == ["lead.offered", "bid.placed"]


def test_pro_has_a_display_name_and_no_email() -> None:
    bob = pro("bob")
    assert (bob.display_name, bob.email, bob.pro_profile.business_name) == ("Bob", "", "Bob Ltd")
