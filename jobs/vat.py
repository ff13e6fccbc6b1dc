"""A trade business's VAT details: the UK VAT number format and the rate a business charges.

A business below the VAT threshold is not registered and charges no VAT; a registered one
shows its number on every invoice and charges its rate (the standard rate from
``settings.PRICING["TAX_RATE"]`` unless it says otherwise).
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError

VAT_NUMBER_MESSAGE = "Enter a UK VAT number: GB followed by 9 digits (12 for a branch of a group), for example GB123456789."
_UK_VAT_NUMBER = re.compile(r"GB(\d{9}|\d{12})")


def normalise_vat_number(value: str) -> str:
    """The number as printed on invoices ("gb 123 4567 89" -> "GB123456789"); raises ``ValidationError``."""
    compact = re.sub(r"[\s.-]", "", value or "").upper()
    if not _UK_VAT_NUMBER.fullmatch(compact):
        raise ValidationError(VAT_NUMBER_MESSAGE, code="bad_vat_number")
    return compact


def validate_vat_number(value: str) -> None:
    """Model-field validator (admin): the stored value must already be in the normalised form."""
    if value and normalise_vat_number(value) != value:
        raise ValidationError(VAT_NUMBER_MESSAGE + " Write it without spaces.", code="bad_vat_number")


def standard_rate() -> Decimal:
    """The rate a newly VAT-registered business charges unless it sets its own (a fraction: 0.20 is 20 %)."""
    return Decimal(settings.PRICING["TAX_RATE"])
