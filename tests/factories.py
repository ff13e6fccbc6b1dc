"""factory_boy factories for the write model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from jobs.models import Trade
from jobs.services import job_post
from marketplace.accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", "pw-123456-x")


class TradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trade
        django_get_or_create = ("slug",)

    slug = "plumbing"
    name = "Plumbing"


def post_job(customer: User, **overrides: Any) -> Any:
    """Post a job through the real service (so the outbox gets its event)."""
    fields: dict[str, Any] = {
        "trade": TradeFactory(),
        "title": "Leaky tap",
        "description": "Kitchen tap drips",
        "latitude": Decimal("51.50000"),
        "longitude": Decimal("-0.12000"),
        "budget_min": Decimal("50"),
        "budget_max": Decimal("150"),
    }
    fields.update(overrides)
    job, _ = job_post(customer=customer, **fields)
    return job
