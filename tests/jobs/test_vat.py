"""A business's VAT details: the UK VAT number format, the profile page and the service's refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from jobs.models import Trade, TradespersonProfile
from jobs.services import InvoiceDetails, pro_profile_save
from jobs.vat import VAT_NUMBER_MESSAGE, normalise_vat_number
from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from tests.factories import trade as make_trade

D = Decimal


@pytest.fixture
def trade(db: None) -> Trade:
    return make_trade()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("GB123456789", "GB123456789"),
        ("gb 123 4567 89", "GB123456789"),
        ("GB123456789012", "GB123456789012"),
        ("GB 123-456-789", "GB123456789"),
    ],
)
def test_uk_vat_numbers_are_accepted_and_normalised(typed: str, stored: str) -> None:
    assert normalise_vat_number(typed) == stored


@pytest.mark.parametrize("typed", ["", "123456789", "GB12345678", "GB1234567890", "GB1234567890123", "FR123456789", "GBABCDEFGHI"])
def test_anything_else_is_refused_with_a_clear_message(typed: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalise_vat_number(typed)
    assert info.value.messages == [VAT_NUMBER_MESSAGE] and "GB followed by 9 digits" in VAT_NUMBER_MESSAGE


@pytest.mark.django_db
def test_the_service_refuses_a_registered_business_without_a_valid_number(tradesperson: User, trade: Trade) -> None:
    base: dict[str, Any] = {
        "user": tradesperson,
        "business_name": "Xavier",
        "trades": [trade],
        "base_latitude": D("51.5"),
        "base_longitude": D("-0.1"),
    }
    with pytest.raises(ServiceError) as info:
        pro_profile_save(**base, invoicing=InvoiceDetails(vat_registered=True, vat_number="GB12"))
    assert info.value.code == "bad_vat_number"
    with pytest.raises(ServiceError) as info:
        pro_profile_save(**base, invoicing=InvoiceDetails(vat_registered=True, vat_number="GB123456789", vat_rate=D("1.5")))
    assert info.value.code == "bad_vat_rate"
    profile = pro_profile_save(**base, invoicing=InvoiceDetails(vat_registered=False, vat_number="GB123456789"))
    assert profile.vat_number == "" and profile.charged_tax_rate == 0  # not registered: no number kept, no VAT
    # A caller that does not pass invoicing (the API, the demo) leaves the VAT details alone.
    pro_profile_save(**base, invoicing=InvoiceDetails(vat_registered=True, vat_number="GB123456789"))
    profile = pro_profile_save(**base)
    assert profile.vat_registered and profile.vat_number == "GB123456789" and profile.charged_tax_rate == D("0.2")


@pytest.mark.django_db
def test_the_profile_page_edits_the_invoice_details(client: Client, tradesperson: User, trade: Trade) -> None:
    client.force_login(tradesperson)
    page = client.get("/profile/").content.decode()
    assert "Invoices and VAT" in page and 'name="vat_number"' in page and 'value="20"' in page
    form = {
        "business_name": "Xavier & Sons",
        "trades": [trade.pk],
        "place": "Islington N1",
        "service_radius_km": "20",
        "legal_name": "Xavier and Sons Ltd",
        "business_address": "3 Essex Road\nLondon N1 2SN",
        "vat_registered": "on",
        "vat_number": "GB 12345",
        "vat_rate_percent": "20",
    }
    response = client.post("/profile/", form)
    assert response.status_code == 200 and response.context["form"].errors["vat_number"] == [VAT_NUMBER_MESSAGE]
    response = client.post("/profile/", {**form, "vat_number": ""})
    assert response.context["form"].errors["vat_number"] == [VAT_NUMBER_MESSAGE]  # registered needs a number
    response = client.post("/profile/", {**form, "vat_number": "gb 123 4567 89", "vat_rate_percent": "5"})
    assert response.status_code == 302
    profile = TradespersonProfile.objects.get(user=tradesperson)
    assert (profile.legal_name, profile.vat_registered, profile.vat_number, profile.vat_rate) == (
        "Xavier and Sons Ltd",
        True,
        "GB123456789",
        D("0.0500"),
    )
    assert profile.business_address == "3 Essex Road\nLondon N1 2SN"
    page = client.get("/profile/").content.decode()
    assert 'value="GB123456789"' in page and 'value="5"' in page
    # Unticking: below the threshold, no number needed and none kept.
    response = client.post("/profile/", {**form, "vat_registered": "", "vat_number": ""})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert not profile.vat_registered and profile.vat_number == "" and profile.charged_tax_rate == 0
