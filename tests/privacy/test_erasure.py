"""Erasure (marketplace/privacy/services.py ``user_erase``): after it, and after every consumer saw ``user.erased``,
no table and no read model holds the customer's name, email or phone."""

from __future__ import annotations

import pytest

from jobs.models import TradespersonProfile
from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from marketplace.privacy.services import user_erase
from reviews.models import Review
from scheduling.models import Worker
from scheduling.services import calendar_feed_rotate, worker_for_owner
from tests.privacy.helpers import EMAIL, NAME, PHONE, USERNAME, ada, ada_story, apply_all_events, search_everywhere

pytestmark = pytest.mark.django_db
# The one documented exception (README, *Privacy*; quotes/privacy.py): the supplier on an issued invoice is the
# tax record itself (HMRC: six years), so a tradesperson's invoices keep who issued them.
KEPT_FOR_HMRC = {"quotes_invoice.supplier_name", "quotes_invoice.supplier_address", "quotes_invoice.supplier_vat_number"}


def test_an_erased_customer_is_nowhere_in_the_database() -> None:
    customer = ada()
    ada_story(customer)
    apply_all_events()
    before = search_everywhere(NAME, EMAIL, PHONE, USERNAME)
    assert any(hit.startswith("audit_auditlog.") for hit in before), before  # the search can fail

    user_erase(user=customer, actor=customer)
    apply_all_events()

    hits = search_everywhere(NAME, EMAIL, PHONE, USERNAME)
    assert hits == [], "\n".join(hits)
    erased = User.objects.get(pk=customer.pk)
    assert (erased.username, erased.is_active, erased.has_usable_password()) == (f"erased-{customer.pk}", False, False)
    [event] = OutboxEvent.objects.filter(event_type="user.erased")
    assert event.envelope["data"]["user_id"] == customer.pk


def test_an_erased_tradesperson_leaves_no_business_name_and_the_ratings_stay() -> None:
    customer = ada()
    job, bob = ada_story(customer)
    profile = TradespersonProfile.objects.get(user=bob)
    profile.legal_name, profile.bio = "Robert Plumbright Ltd", "Thirty years of Plumbright pipes"
    profile.save()
    apply_all_events()
    business = profile.business_name
    assert search_everywhere(business, "Plumbright")  # the search can fail
    calendar_feed_rotate(worker=worker_for_owner(owner=bob), actor=bob)

    user_erase(user=bob, actor=bob)
    apply_all_events()

    hits = [h for h in search_everywhere(business, "Plumbright", "bobpriv") if h.split(":")[0] not in KEPT_FOR_HMRC]
    assert hits == [], "\n".join(hits)
    assert not Worker.objects.filter(owner=bob).exclude(calendar_feed_hash="").exists()  # calendar feeds are off
    assert Review.objects.get(job=job).rating == 5 and Review.objects.get(job=job).comment.startswith("Great work")
