"""Helpers that build no domain objects: API clients, error assertions, request data, write-model snapshots.

Objects come from tests/factories.py; real processes, brokers and waiting from tests/support.py.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from PIL import Image
from rest_framework.test import APIClient

from jobs.models import Bid, Job, JobBoardEntry, JobPhoto, Lead, TradespersonProfile
from jobs.projections import JobBoardProjection
from marketplace.accounts.models import ApiToken, User
from marketplace.events.envelope import from_dict
from marketplace.events.models import OutboxEvent
from marketplace.notifications.models import Notification
from payments.executor import run_due

# A job as the API takes it (the trade is tests.factories.TradeFactory's default).
JOB = {"trade": "plumbing", "title": "Leaky tap", "description": "Kitchen tap drips", "latitude": "51.5", "longitude": "-0.12"}


def run_payments_executor() -> int:
    """Do now what the payments executor process would: every due gateway operation, each step of a chain (payments/executor.py)."""
    return run_due()


def after_payments_executor(predicate: Callable[[], bool]) -> Callable[[], bool]:
    """``predicate``, checked after the payments executor ran: the ``payments`` consumer only records intents."""

    def check() -> bool:
        run_due()
        return predicate()

    return check


def activate_totp(user: User) -> str:
    """Give ``user`` an activated TOTP authenticator (as the setup page would); returns its secret for totp_code."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now for ``secret`` (allauth's own HOTP maths; 30 s steps)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def client_for(user: User | None) -> APIClient:
    """An API client logged in as ``user`` (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def error_code(response: Any) -> str:
    """The code of a JSON error response, after checking it has the error shape and a message."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    code: str = body["error"]["code"]
    return code


def png_bytes(size: tuple[int, int] = (8, 8), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid PNG, for photo uploads."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def rebuild_board() -> None:
    """Apply every outbox event to the board read model, as the jobs-board consumer would."""
    projection = JobBoardProjection()
    for row in OutboxEvent.objects.order_by("id"):
        event = from_dict(row.envelope)
        if projection.handles(event.event_type):
            projection.handle(event)


def state() -> dict[str, Any]:
    """Row counts and the mutable fields of the write model: equal before and after means nothing was written."""
    return {
        "counts": {
            model.__name__: model.objects.count()
            for model in (User, ApiToken, TradespersonProfile, Job, JobPhoto, Lead, Bid, Notification, OutboxEvent, JobBoardEntry)
        },
        "jobs": list(Job.objects.order_by("pk").values_list("pk", "status", "title", "description", "budget_max", "awarded_bid_id")),
        "bids": list(Bid.objects.order_by("pk").values_list("pk", "status", "amount", "message", "revision")),
        "leads": list(Lead.objects.order_by("pk").values_list("pk", "seen_at", "bid_at")),
        "profiles": list(TradespersonProfile.objects.order_by("pk").values_list("pk", "business_name", "is_id_verified")),
        "unread": Notification.objects.filter(read_at__isnull=True).count(),
    }
