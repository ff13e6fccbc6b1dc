"""Builders shared by the API tests (``tests/jobs/test_api_*.py``, ``tests/test_permissions.py``); no tests here.

Everything is made through the real services, so the outbox gets its events and the
rules that protect the write model also protect the test data.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.db import transaction
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs import services
from jobs.models import Bid, Job, JobBoardEntry, JobPhoto, Lead, Trade, TradespersonProfile
from jobs.projections import JobBoardProjection
from marketplace.accounts.models import User
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.notifications.models import Notification

ISLINGTON = (Decimal("51.53620"), Decimal("-0.10330"))
BRIXTON = (Decimal("51.45230"), Decimal("-0.11840"))

JOB = {"trade": "plumbing", "title": "Leaky tap", "description": "Kitchen tap drips", "latitude": "51.5", "longitude": "-0.12"}


def trade(slug: str = "plumbing", name: str = "Plumbing") -> Trade:
    return Trade.objects.get_or_create(slug=slug, defaults={"name": name})[0]


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def make_user(username: str, role: str = User.Role.CUSTOMER, **extra: Any) -> User:
    return User.objects.create_user(username, f"{username}@example.com", "pw-123456-x", role=role, **extra)


def make_profile(
    user: User, *, at: tuple[Decimal, Decimal] = ISLINGTON, trades: list[Trade] | None = None, **kw: Any
) -> TradespersonProfile:
    return services.pro_profile_save(
        user=user,
        business_name=kw.pop("business_name", f"{user.username.title()} Ltd"),
        trades=trades or [trade()],
        base_latitude=at[0],
        base_longitude=at[1],
        base_place=kw.pop("base_place", "Islington N1"),
        **kw,
    )


def make_pro(username: str, **kw: Any) -> User:
    user = make_user(username, User.Role.TRADESPERSON)
    make_profile(user, **kw)
    return user


def post_job(customer: User, **overrides: Any) -> Job:
    fields: dict[str, Any] = {
        "trade": trade(),
        "title": "Leaky tap",
        "description": "Kitchen tap drips",
        "latitude": Decimal("51.50000"),
        "longitude": Decimal("-0.12000"),
        "budget_min": Decimal("50"),
        "budget_max": Decimal("150"),
    }
    fields.update(overrides)
    job, _ = services.job_post(customer=customer, **fields)
    return job


def offer_lead(job: Job, user: User, distance: str = "1.00") -> Lead:
    """Offer ``job`` to ``user`` as matching would (they need a profile)."""
    profile = TradespersonProfile.objects.get(user=user)
    with transaction.atomic():
        return services.leads_offer(job=job, offers=[(profile, Decimal(distance), Decimal("0.9"))], match_round=1)[0]


def place_bid(job: Job, user: User, amount: str = "120.00") -> Bid:
    return services.bid_place(job=job, tradesperson=user, amount=Decimal(amount))


def rebuild_board() -> None:
    """Apply every outbox event to the board read model, as the jobs-board consumer would."""
    projection = JobBoardProjection()
    for row in OutboxEvent.objects.order_by("id"):
        event = from_dict(row.envelope)
        if projection.handles(event.event_type):
            projection.handle(event)


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def state() -> dict[str, Any]:
    """Row counts and the mutable fields of the write model: equal before and after means nothing was written."""
    return {
        "counts": {
            model.__name__: model.objects.count()
            for model in (User, Token, TradespersonProfile, Job, JobPhoto, Lead, Bid, Notification, OutboxEvent, JobBoardEntry)
        },
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "status", "title", "description", "budget_max", "awarded_bid_id")),
        "bids": list(Bid.objects.order_by("pk").values_list("pk", "status", "amount", "message", "revision")),
        "leads": list(Lead.objects.order_by("pk").values_list("pk", "seen_at", "bid_at")),
        "profiles": list(TradespersonProfile.objects.order_by("pk").values_list("pk", "business_name", "is_id_verified")),
        "unread": Notification.objects.filter(read_at__isnull=True).count(),
    }


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    code: str = body["error"]["code"]
    return code
