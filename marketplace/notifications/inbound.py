"""Texts people send us: the inbound-SMS webhook's adapters (one per provider) and the simulated provider's signing.

``settings.SMS_INBOUND_ADAPTER`` names the :class:`InboundSmsAdapter` subclass in use; its ``name`` is the
``<provider>`` of ``POST /webhooks/sms/<provider>/`` (any other provider is a 404).  An adapter turns a
request into an :class:`InboundSms` after checking the provider's signature, or raises
:class:`InboundRejected` (answered 403, nothing stored).

- :class:`SimulatedInboundAdapter` (the default; SIMULATED, no phone network involved): a JSON body
  ``{"id", "from", "body"}`` signed like our simulated payment gateway signs its webhooks: header
  ``SMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`` with
  ``SMS_INBOUND["SECRET"]``; a timestamp more than ``SMS_INBOUND["TOLERANCE_S"]`` away is refused, so a
  captured request cannot be replayed later.  :func:`simulated_request` builds one (``manage.py
  sms_inbound`` and the dev page use it).
- :class:`TwilioInboundAdapter` (a sketch, untested against the real service): Twilio's form post
  (``From``, ``Body``, ``MessageSid``) with ``X-Twilio-Signature``, base64 HMAC-SHA1 with the auth token
  over the public URL followed by every POST parameter's name and value, sorted by name.  Twilio signs
  no timestamp: a replay is absorbed by the message id being stored once.

Replies are not the webhook's answer: they go out through ``SMS_BACKEND`` after the reply is decided.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

SIGNATURE_HEADER = "SMS-Signature"


@dataclass(frozen=True)
class InboundSms:
    from_number: str
    body: str
    message_id: str


class InboundRejected(Exception):
    """A request that must not be trusted (bad or missing signature, stale, malformed); ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InboundSmsAdapter:
    """One SMS provider's inbound webhook.  Subclasses set ``name`` and implement :meth:`parse`."""

    name = ""

    def parse(self, request: HttpRequest) -> InboundSms:
        """The verified message in ``request``; raises :class:`InboundRejected` if it is not to be trusted."""
        raise NotImplementedError


def _hex_signature(body: bytes, secret: str, timestamp: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """The ``SMS-Signature`` header for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_hex_signature(body, secret, str(timestamp))}"


def verify(body: bytes, header: str, *, secret: str, now: int, tolerance_s: int) -> None:
    """Raise :class:`InboundRejected` unless ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of ``now``."""
    if not secret:
        raise InboundRejected("not_configured", "Inbound SMS is not configured (SMS_INBOUND_SECRET is empty).")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    timestamps = fields.get("t", [])
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not fields.get("v1"):
        raise InboundRejected("bad_header", "The SMS-Signature header must look like 't=<unix seconds>,v1=<hex>'.")
    expected = _hex_signature(body, secret, timestamps[0])
    if not any(hmac.compare_digest(expected.encode(), v.encode()) for v in fields["v1"]):
        raise InboundRejected("bad_signature", "The signature does not match; check the secret. The body may have been altered.")
    if abs(now - int(timestamps[0])) > tolerance_s:
        raise InboundRejected("stale", f"The message was signed more than {tolerance_s} s from now; it may be a replay.")


class SimulatedInboundAdapter(InboundSmsAdapter):
    """SIMULATED: a provider of our own, signing like the simulated payment gateway (see the module docstring)."""

    name = "simulated"

    def parse(self, request: HttpRequest) -> InboundSms:
        conf = settings.SMS_INBOUND
        verify(
            request.body,
            request.headers.get(SIGNATURE_HEADER, ""),
            secret=conf["SECRET"],
            now=int(time.time()),
            tolerance_s=conf["TOLERANCE_S"],
        )
        try:
            data = json.loads(request.body.decode("utf-8"))
        except ValueError:
            raise InboundRejected("bad_json", "The body is not UTF-8 JSON.") from None
        if not (isinstance(data, dict) and all(isinstance(data.get(k), str) and data[k] for k in ("id", "from", "body"))):
            raise InboundRejected("bad_json", "The body must be a JSON object with id, from and body (non-empty strings).")
        return InboundSms(from_number=data["from"].strip()[:20], body=data["body"][:1600], message_id=data["id"][:100])


def simulated_request(*, from_number: str, body: str, message_id: str = "", timestamp: int | None = None) -> tuple[bytes, str]:
    """A text as the simulated provider delivers it: ``(JSON body, SMS-Signature header)``, signed now."""
    payload = json.dumps({"id": message_id or f"sim_{uuid.uuid4().hex}", "from": from_number, "body": body}).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    return payload, sign(payload, secret=settings.SMS_INBOUND["SECRET"], timestamp=stamp)


class TwilioInboundAdapter(InboundSmsAdapter):
    """A sketch of Twilio's inbound webhook (form post, ``X-Twilio-Signature``); not exercised against Twilio."""

    name = "twilio"

    def parse(self, request: HttpRequest) -> InboundSms:
        token = settings.SMS_INBOUND["TWILIO_AUTH_TOKEN"]
        if not token:
            raise InboundRejected("not_configured", "Twilio is not configured (SMS_INBOUND_TWILIO_AUTH_TOKEN is empty).")
        params = request.POST
        signed = request.build_absolute_uri() + "".join(f"{k}{v}" for k in sorted(params) for v in params.getlist(k))
        expected = base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
            raise InboundRejected("bad_signature", "The X-Twilio-Signature does not match.")
        if not (params.get("From") and params.get("MessageSid")):
            raise InboundRejected("bad_form", "From and MessageSid are required.")
        return InboundSms(from_number=params["From"][:20], body=params.get("Body", "")[:1600], message_id=params["MessageSid"][:100])


def get_inbound_adapter() -> InboundSmsAdapter:
    adapter: InboundSmsAdapter = import_string(settings.SMS_INBOUND_ADAPTER)()
    return adapter
