"""Signed webhooks, as Stripe signs them: the header is ``t=<unix seconds>,v1=<hex>``, where the hex is
HMAC-SHA256 with the endpoint secret over ``f"{t}.".encode() + payload``; see :func:`sign_webhook` and
:func:`verify_webhook`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any, Literal, NoReturn

WebhookRejectionCode = Literal["bad_header", "bad_signature", "too_old", "from_the_future", "bad_json"]


class WebhookRejected(Exception):
    """A webhook that must not be trusted; ``code`` is stable (answer it with HTTP 400 and do nothing)."""

    def __init__(self, code: WebhookRejectionCode, message: str) -> None:
        super().__init__(message)
        self.code: WebhookRejectionCode = code


def _check_webhook_inputs(payload: object, secret: object) -> None:
    if not isinstance(payload, bytes):
        raise TypeError(f"payload must be the raw request body as bytes, not {type(payload).__name__}.")
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}.")
    if not secret:
        raise ValueError("The webhook secret is empty; configure the endpoint's signing secret.")


def _signature(payload: bytes, secret: str, timestamp: str) -> bytes:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest().encode()


def sign_webhook(payload: bytes, secret: str, timestamp: int) -> str:
    """The signature header for ``payload`` sent at ``timestamp`` (unix seconds): ``t=<timestamp>,v1=<hex HMAC-SHA256>``."""
    _check_webhook_inputs(payload, secret)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError(f"timestamp must be an int (unix seconds), not {type(timestamp).__name__}.")
    if timestamp < 0:
        raise ValueError("timestamp must be unix seconds, not negative.")
    return f"t={timestamp},v1={_signature(payload, secret, str(timestamp)).decode()}"


def _reject(code: WebhookRejectionCode, message: str) -> NoReturn:
    raise WebhookRejected(code, message)


def _parse_header(header: object) -> tuple[str, list[bytes]]:
    """The header's timestamp (as sent, since that is what was signed) and its v1 signatures; other schemes are ignored."""
    if not isinstance(header, str) or not header.isascii() or len(header) > 4096:
        _reject("bad_header", "The signature header must be ASCII text like 't=<unix seconds>,v1=<hex>'.")
    timestamp, signatures = "", []
    for part in header.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals:
            _reject("bad_header", "The signature header must be comma-separated key=value pairs like 't=<unix seconds>,v1=<hex>'.")
        if key == "t":
            if timestamp or not value.isdigit():
                _reject("bad_header", "The signature header needs exactly one t=<unix seconds>.")
            timestamp = value
        elif key == "v1":
            signatures.append(value.encode())
    if not timestamp or not signatures:
        _reject("bad_header", "The signature header needs t=<unix seconds> and at least one v1=<hex>.")
    return timestamp, signatures


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def _parse_event(payload: bytes) -> dict[str, Any]:
    try:
        # Decimal, never float: webhook amounts are money.
        event = json.loads(payload.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        _reject("bad_json", "The webhook body is not UTF-8 JSON.")
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and event["id"]
        and isinstance(event.get("type"), str)
        and event["type"]
        and isinstance(event.get("created"), int)
        and not isinstance(event["created"], bool)
        and isinstance(event.get("data"), dict)
    ):
        _reject("bad_json", "The webhook body must be a JSON object with id and type (strings), created (an int) and data (an object).")
    return event


def verify_webhook(payload: bytes, header: str, secret: str, *, now: int, tolerance_s: int = 300) -> dict[str, Any]:
    """The event in a webhook whose signature and age check out: a dict with ``id``, ``type``, ``created`` and ``data``.

    ``payload`` is the raw request body, exactly as received. Checks, in this order: the header's
    shape (``bad_header``), the signature against every ``v1`` (several during a secret
    rotation), in constant time (``bad_signature``), the signed timestamp within ``tolerance_s``
    of ``now``, so a captured webhook cannot be replayed later (``too_old``,
    ``from_the_future``), then the body (``bad_json``): nothing unauthenticated is parsed.
    Numbers with a fraction come back as ``Decimal``. Raises :class:`WebhookRejected`; a
    replayed event inside the window verifies again, so handlers must be idempotent on ``id``.
    """
    _check_webhook_inputs(payload, secret)
    timestamp, signatures = _parse_header(header)
    expected = _signature(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        _reject("bad_signature", "The webhook signature does not match; check the endpoint secret. The body may have been altered.")
    age = now - int(timestamp)
    if age > tolerance_s:
        _reject("too_old", f"The webhook was signed {age} s ago, more than the {tolerance_s} s allowed; it may be a replay.")
    if age < -tolerance_s:
        _reject("from_the_future", f"The webhook was signed {-age} s in the future, more than the {tolerance_s} s allowed; check clocks.")
    return _parse_event(payload)
