"""Builders for the jobs domain, all through the real services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from jobs import services
from jobs.models import Job, Lead, Trade, TradespersonProfile
from marketplace.accounts.models import User

ISLINGTON = (Decimal("51.53620"), Decimal("-0.10330"))


def trade(slug: str = "plumbing", name: str = "Plumbing") -> Trade:
    return Trade.objects.get_or_create(slug=slug, defaults={"name": name})[0]


def pro(username: str, *, trades: list[Trade] | None = None, at: tuple[Decimal, Decimal] = ISLINGTON, radius: int = 15, **kw: Any) -> User:
    user = User.objects.create_user(username, password="pw-123456-x", role=User.Role.TRADESPERSON, display_name=username.title())
    services.pro_profile_save(
        user=user,
        business_name=kw.pop("business_name", f"{username.title()} Ltd"),
        trades=trades or [trade()],
        base_latitude=at[0],
        base_longitude=at[1],
        service_radius_km=radius,
        **kw,
    )
    return user


def offer(job: Job, user: User, distance: str = "1.00") -> Lead:
    profile = TradespersonProfile.objects.get(user=user)
    with transaction.atomic():
        return services.leads_offer(job=job, offers=[(profile, Decimal(distance), Decimal("0.9"))], match_round=1)[0]
