"""The custom user model: one account type for customers, tradespeople and staff."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from knox.models import AbstractAuthToken


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone (for example Europe/London).")


# knox's untyped token base hides the ``auth_token_set`` manager (ApiToken.user) from the mypy plugin.
class User(AbstractUser):  # type: ignore[django-manager-missing]
    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        TRADESPERSON = "tradesperson", "Tradesperson"
        # A login made by accepting a business's team invitation (scheduling.team says which business and
        # role). Not a tradesperson: no leads, money or profile of their own, whatever they may see of the team's.
        TEAM = "team", "Team member"

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

    @property
    def is_team_member(self) -> bool:
        return self.role == self.Role.TEAM

    def __str__(self) -> str:
        return self.display_name or self.username


class ApiToken(AbstractAuthToken):
    """An API token for one device (django-rest-knox's token, swapped in by ``KNOX_TOKEN_MODEL``).

    Only a hash of the token is stored (``digest``); the token itself is shown once, when made.
    Revoking deletes the row. ``uid`` names the token in the API and URLs (the digest never leaves the server).
    """

    # Annotated: knox has no type information, so the mypy plugin cannot infer fields on its subclass.
    uid: models.UUIDField[uuid.UUID, uuid.UUID] = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    label: models.CharField[str, str] = models.CharField(max_length=80, blank=True, help_text="The device or app, as the owner named it.")
    last_used_at: models.DateTimeField[Any, Any] = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.label or 'API token'} ({self.token_key}…) of {self.user_id}"
