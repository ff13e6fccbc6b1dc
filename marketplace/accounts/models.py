"""The custom user model: one account type for customers, tradespeople and staff."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (for example Europe/London).")


class User(AbstractUser):
    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        TRADESPERSON = "tradesperson", "Tradesperson"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    display_name = models.CharField(max_length=120, blank=True)
    # Times are stored in UTC and shown in this zone.
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])

    @property
    def is_customer(self) -> bool:
        return self.role == self.Role.CUSTOMER

    @property
    def is_tradesperson(self) -> bool:
        return self.role == self.Role.TRADESPERSON

    def __str__(self) -> str:
        return self.display_name or self.username
