"""Erasure (marketplace/privacy/services.py ``user_erase``): after it, and after every consumer saw ``user.erased``,
no table and no read model holds the customer's name, email or phone."""

from __future__ import annotations

import pytest

from marketplace.accounts.models import User
from marketplace.events.models import OutboxEvent
from marketplace.privacy.services import user_erase
from tests.privacy.helpers import EMAIL, NAME, PHONE, USERNAME, ada, ada_story, apply_all_events, search_everywhere

pytestmark = pytest.mark.django_db


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
