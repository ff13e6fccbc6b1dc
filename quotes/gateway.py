"""The payment gateway boundary: the interface an adapter implements, a local simulated gateway, and signed webhooks.

Card data never touches our database. The browser gives card details to the processor and we get
back a token (``tok_...``); every call here takes that token, never a card number. Two adapters
simulate a processor and move no money: :class:`SimulatedGateway` keeps everything in memory (one
process, for unit tests), ``gateway_simulator.gateway.DatabaseSimulatedGateway`` keeps the same
state in the database, shared by every process and surviving restarts. Both follow the rules in
"the simulated processor's rules" below.

What every adapter (:class:`PaymentGateway`) promises:

- Amounts are ``Decimal`` pounds, more than zero, at most two decimal places (see
  :func:`quotes.payment_states.payment_amount`); a float raises ``TypeError``. Results carry
  amounts with exactly two places.
- A decline is a result (``ok=False, status="declined"``, the decline code in ``message``), not
  an exception.
- A transient failure (timeout, outage, 5xx) raises :class:`GatewayUnavailable`: nothing is known
  to have happened, so retry later with the same idempotency key.
- A request that can never succeed (capture more than was authorised, void a captured payment,
  reuse an idempotency key with other parameters, send a card number instead of a token) raises
  :class:`GatewayRequestError`, a ``ValueError`` with a stable ``code``. Retrying will not help.
- Idempotency: a repeated call with the same key and the same parameters returns the first result
  and acts once.
- No message (exceptions or results) repeats a token, reference or id the caller passed in, so
  nothing a caller sends by mistake is copied into logs. This module logs nothing.

Webhooks are signed as Stripe signs them: the header is ``t=<unix seconds>,v1=<hex>``, where the
hex is HMAC-SHA256 with the endpoint secret over ``f"{t}.".encode() + payload``; see
:func:`sign_webhook` and :func:`verify_webhook`.

:func:`luhn_like_numbers` finds card-like numbers in text, to scan the database, logs and topics
for card data that should never be there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, NoReturn, Protocol

from quotes.payment_states import IllegalPaymentTransition, PaymentAmountError, PaymentLedger, payment_amount

GatewayStatus = Literal["authorized", "captured", "refunded", "voided", "declined", "retry"]
GatewayErrorCode = Literal[
    "card_number_sent", "bad_argument", "bad_amount", "idempotency_key_reused", "unknown_authorization", "unknown_charge", "not_allowed"
]
WebhookRejectionCode = Literal["bad_header", "bad_signature", "too_old", "from_the_future", "bad_json"]

SUCCESS_STATUSES: frozenset[GatewayStatus] = frozenset({"authorized", "captured", "refunded", "voided"})
CARD_NUMBER_REFUSED = "send a token, never a card number"


# --- the interface ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """What the gateway answered.

    ``ok`` is true exactly for ``authorized``, ``captured``, ``refunded`` and ``voided``.
    ``gateway_id`` is the gateway's id for what the call made or acted on: the authorization
    (also for a decline), the charge (pass it to ``refund``), the refund, or the voided
    authorization. ``amount`` is the amount this call concerned. ``message`` is the decline code
    for a decline (``card_declined``, ``insufficient_funds``, ``unknown_token``), otherwise a
    short sentence; it never holds card data. ``retryable`` is true exactly for ``retry``: an
    adapter's soft decline that may succeed later with the same idempotency key (the simulated
    gateway raises :class:`GatewayUnavailable` instead and never answers ``retry``).
    """

    ok: bool
    status: GatewayStatus
    gateway_id: str
    amount: Decimal
    message: str
    retryable: bool

    def __post_init__(self) -> None:
        if self.ok != (self.status in SUCCESS_STATUSES):
            raise ValueError(f"A {self.status} result must have ok={self.status in SUCCESS_STATUSES}.")
        if self.retryable != (self.status == "retry"):
            raise ValueError(f"A {self.status} result must have retryable={self.status == 'retry'}.")


class GatewayUnavailable(Exception):
    """The gateway could not be reached or failed transiently. Nothing is known to have happened: retry later with the same key."""


class GatewayRequestError(ValueError):
    """A request the gateway will never accept; ``code`` is stable. The message never repeats what the caller sent."""

    def __init__(self, code: GatewayErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: GatewayErrorCode = code


class PaymentGateway(Protocol):
    """A card processor adapter. Errors and idempotency are described in the module docstring."""

    name: str

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str, reference: str) -> GatewayResult:
        """Hold ``amount`` on the card behind ``token``; ``reference`` is our payment's id, for the gateway's records."""
        ...

    def capture(self, *, authorization_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Take up to the authorised amount, once; the rest of the hold is released. The result's ``gateway_id`` is the charge."""
        ...

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Give back part or all of a charge; refunds may repeat but never total more than was captured."""
        ...

    def void(self, *, authorization_id: str, idempotency_key: str) -> GatewayResult:
        """Release an authorization that was never captured."""
        ...


# --- card numbers ----------------------------------------------------------------------------

# Digits in groups joined by single spaces or dashes: "4242 4242 4242 4242", "4000-0566-5566-5556".
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_DIGIT_GROUP = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_number_spans(text: str) -> list[tuple[int, int]]:
    """Where card-like numbers are in ``text``: whole digit groups, 13-19 digits in all, passing Luhn; leftmost and longest first."""
    spans: list[tuple[int, int]] = []
    uuids = [(m.start(), m.end()) for m in _UUID.finditer(text)]
    for run in _DIGIT_RUN.finditer(text):
        for groups in _standalone_groups(text, run.start(), run.end(), uuids):
            _find_cards(text, groups, spans)
    return spans


def _touches_a_word(text: str, start: int, end: int) -> bool:
    """True if the digit group at ``start:end`` is glued to a letter or underscore (part of an id such as a UUID or a hex key)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before.isalpha() or before == "_" or after.isalpha() or after == "_"


def _standalone_groups(text: str, start: int, end: int, uuids: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The run's digit groups, split wherever a group is part of a word or of a UUID: a card number is written as whole numbers.

    Without this, about 0.3 % of UUIDs ("…c3-1234-5678-9012-345…") contain a Luhn-valid run.
    """
    pieces: list[list[tuple[int, int]]] = [[]]
    for group in _DIGIT_GROUP.finditer(text, start, end):
        in_uuid = any(u_start <= group.start() < u_end for u_start, u_end in uuids)
        if in_uuid or _touches_a_word(text, group.start(), group.end()):
            pieces.append([])
        else:
            pieces[-1].append((group.start(), group.end()))
    return [piece for piece in pieces if piece]


def _find_cards(text: str, groups: list[tuple[int, int]], spans: list[tuple[int, int]]) -> None:
    """Add the card-like spans among consecutive ``groups``: 13-19 digits in all, passing Luhn; leftmost and longest first."""
    first = 0
    while first < len(groups):
        digits, found = "", -1
        for last in range(first, len(groups)):
            digits += text[groups[last][0] : groups[last][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and _luhn_ok(digits):
                found = last
        if found < 0:
            first += 1
        else:
            spans.append((groups[first][0], groups[found][1]))
            first = found + 1


def luhn_like_numbers(text: str) -> list[str]:
    """Card-like numbers in ``text``, as written there: 13-19 digits passing the Luhn check, groups joined by single spaces or dashes.

    Made to scan stored rows, logs and event topics for card numbers that should never be there.
    The list is the only place this module ever puts a number it finds: it logs nothing and
    raises nothing that contains one. What to do with them is the caller's decision; report a
    location and :func:`redact_card_numbers`' output, never the numbers themselves. A run of
    digits is split only at its spaces or dashes, so a 20-digit reference is not reported, and a
    card number joined to other digits by a space may be reported with or without them. Digits
    glued to a letter or underscore, or inside a UUID, belong to an identifier (event ids, hex
    keys) and are not reported: otherwise about 1 UUID in 330 would look like a card.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    return [text[start:end] for start, end in _card_number_spans(text)]


def redact_card_numbers(text: str, replacement: str = "[card number removed]") -> str:
    """``text`` with every number :func:`luhn_like_numbers` finds replaced, safe to log or show."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}.")
    parts: list[str] = []
    position = 0
    for start, end in _card_number_spans(text):
        parts += [text[position:start], replacement]
        position = end
    return "".join([*parts, text[position:]])


def _refuse_card_numbers(token: str) -> None:
    """A token never holds 13 or more digits in a row (spaces or dashes allowed), Luhn or not: that is a card number, refused unread."""
    for run in _DIGIT_RUN.finditer(token):
        if sum(char.isdigit() for char in run.group()) >= 13:
            # No "from" and no number in the message: the exception must not carry the digits anywhere.
            raise GatewayRequestError("card_number_sent", CARD_NUMBER_REFUSED)


# --- webhooks --------------------------------------------------------------------------------


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


# --- the simulated processor's rules ---------------------------------------------------------
#
# What a simulated gateway checks, decides and answers, in one place: :class:`SimulatedGateway`
# (memory) and ``gateway_simulator.gateway.DatabaseSimulatedGateway`` (shared database state)
# both call these and differ only in where they keep their state.

_APPROVED_TOKENS = frozenset({"tok_visa", "tok_retry"})
_FLAKY_TOKENS = frozenset({"tok_retry"})  # the first call with a key times out
_DECLINED_TOKENS: Mapping[str, str] = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}
_TOKEN = re.compile(r"[A-Za-z0-9_]{1,255}")
_CURRENCY = re.compile(r"[A-Z]{3}")

SimulatedOperation = Literal["authorize", "capture", "refund", "void"]
NewId = Callable[[str], str]
"""Draws the next simulated id of a kind (``"auth"``, ``"ch"``, ``"re"``, ``"evt"``): see :func:`simulated_id`."""


def _check_text(value: object, field: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}.")
    if not value or len(value) > 255:
        raise GatewayRequestError("bad_argument", f"{field} must be 1 to 255 characters.")
    if pattern is not None and not pattern.fullmatch(value):
        raise GatewayRequestError("bad_argument", f"{field} is not in the form the gateway expects.")
    return value


def _amount(value: object) -> Decimal:
    try:
        return payment_amount(value)
    except PaymentAmountError as exc:
        raise GatewayRequestError("bad_amount", str(exc)) from None


@contextmanager
def _ledger_rules() -> Iterator[None]:
    """The ledger's refusals, as the gateway's: a processor refuses the same things with a 4xx."""
    try:
        yield
    except PaymentAmountError as exc:
        raise GatewayRequestError("bad_amount", str(exc)) from None
    except IllegalPaymentTransition as exc:
        raise GatewayRequestError("not_allowed", str(exc)) from None


def check_authorize_request(*, token: object, amount: object, currency: object, idempotency_key: object, reference: object) -> Decimal:
    """Check an authorize call's arguments before anything is read or kept; the amount, with exactly two places.

    A card number in ``token`` is refused first (``card_number_sent``), unread. Raises
    ``TypeError`` or :class:`GatewayRequestError` (``bad_argument``, ``bad_amount``).
    """
    if not isinstance(token, str):
        raise TypeError(f"token must be a str, not {type(token).__name__}.")
    _refuse_card_numbers(token)
    _check_text(token, "token", _TOKEN)
    checked = _amount(amount)
    _check_text(currency, "currency (an ISO 4217 code in capitals, such as GBP)", _CURRENCY)
    _check_text(idempotency_key, "idempotency_key")
    _check_text(reference, "reference")
    return checked


def check_capture_request(*, authorization_id: object, amount: object, idempotency_key: object) -> Decimal:
    """Check a capture call's arguments; the amount, with exactly two places."""
    _check_text(authorization_id, "authorization_id")
    checked = _amount(amount)
    _check_text(idempotency_key, "idempotency_key")
    return checked


def check_refund_request(*, charge_id: object, amount: object, idempotency_key: object) -> Decimal:
    """Check a refund call's arguments; the amount, with exactly two places."""
    _check_text(charge_id, "charge_id")
    checked = _amount(amount)
    _check_text(idempotency_key, "idempotency_key")
    return checked


def check_void_request(*, authorization_id: object, idempotency_key: object) -> None:
    """Check a void call's arguments."""
    _check_text(authorization_id, "authorization_id")
    _check_text(idempotency_key, "idempotency_key")


def check_event_type(event_type: object) -> str:
    """Check a webhook event type (``payment.captured``...)."""
    return _check_text(event_type, "event_type")


def check_fail_next(calls: object) -> int:
    """``calls`` for ``fail_next``: a whole number, 0 or more."""
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
        raise ValueError("calls must be a whole number, 0 or more.")
    return calls


def simulated_id(kind: str, number: int) -> str:
    """A simulated gateway id: ``sim_auth_000001``, ``sim_ch_000002``... (one sequence for every kind)."""
    return f"sim_{kind}_{number:06d}"


def simulated_outage() -> GatewayUnavailable:
    """The error a simulated outage (``fail_next``) raises, before anything is done."""
    return GatewayUnavailable("The simulated gateway is unavailable (fail_next); retry later with the same idempotency key.")


def simulated_token_times_out(token: str) -> bool:
    """Whether ``token`` makes the first authorize call with each idempotency key time out (``tok_retry``)."""
    return token in _FLAKY_TOKENS


def simulated_timeout() -> GatewayUnavailable:
    """The error the first authorize call with a ``tok_retry`` token and a new idempotency key raises."""
    return GatewayUnavailable("The simulated gateway timed out (tok_retry); retry with the same idempotency key.")


def idempotency_key_reused(first_operation: str) -> GatewayRequestError:
    """The refusal of a key first used for ``first_operation`` with other parameters (the key itself is not repeated)."""
    return GatewayRequestError(
        "idempotency_key_reused",
        f"This idempotency key was first used for {first_operation} with other parameters; use a new key for a new request.",
    )


def unknown_authorization() -> GatewayRequestError:
    return GatewayRequestError("unknown_authorization", "No such authorization here; pass the gateway_id that authorize returned.")


def unknown_charge() -> GatewayRequestError:
    return GatewayRequestError("unknown_charge", "No such charge here; pass the gateway_id that capture returned.")


def simulate_authorize(token: str, amount: Decimal, currency: str, new_id: NewId) -> tuple[PaymentLedger, GatewayResult]:
    """What a (checked) authorize does with ``token``: the authorization's ledger and the result. Draws one ``"auth"`` id.

    ``tok_visa`` and ``tok_retry`` are authorised; ``tok_decline`` and ``tok_insufficient_funds``
    are declined with their codes; any other token is declined ``unknown_token``. A declined
    authorization is kept too (``failed``), so it can be neither captured nor voided. The
    ``tok_retry`` timeout (:func:`simulated_token_times_out`) is the caller's to apply first.
    """
    authorization_id = new_id("auth")
    if token in _APPROVED_TOKENS:
        return PaymentLedger().authorize(amount), GatewayResult(
            True, "authorized", authorization_id, amount, f"Authorised {amount} {currency}.", False
        )
    return PaymentLedger().decline(), GatewayResult(
        False, "declined", authorization_id, amount, _DECLINED_TOKENS.get(token, "unknown_token"), False
    )


def simulate_capture(ledger: PaymentLedger, amount: Decimal, currency: str, new_id: NewId) -> tuple[PaymentLedger, GatewayResult]:
    """Capture ``amount`` from an authorization's ledger: the new ledger and the result. Draws a ``"ch"`` id only if allowed."""
    with _ledger_rules():
        ledger = ledger.capture(amount)
    return ledger, GatewayResult(True, "captured", new_id("ch"), amount, f"Captured {amount} {currency}.", False)


def simulate_refund(ledger: PaymentLedger, amount: Decimal, currency: str, new_id: NewId) -> tuple[PaymentLedger, GatewayResult]:
    """Refund ``amount`` of a charge's authorization ledger: the new ledger and the result. Draws a ``"re"`` id only if allowed."""
    with _ledger_rules():
        ledger = ledger.refund(amount)
    message = f"Refunded {amount} {currency}; {ledger.refundable} left to refund."
    return ledger, GatewayResult(True, "refunded", new_id("re"), amount, message, False)


def simulate_void(ledger: PaymentLedger, authorization_id: str, currency: str) -> tuple[PaymentLedger, GatewayResult]:
    """Void an authorization's ledger: the new ledger and the result (its amount is what was held)."""
    with _ledger_rules():
        ledger = ledger.void()
    held = ledger.authorized
    return ledger, GatewayResult(True, "voided", authorization_id, held, f"Released {held} {currency}.", False)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable.")


def simulated_webhook(event_id: str, event_type: str, data: Mapping[str, object], *, created: int, secret: str) -> tuple[bytes, str]:
    """A webhook as a simulated gateway sends it: ``(body, signature header)``.

    The body is ``{"id", "type", "created", "data"}`` as compact JSON; ``Decimal`` values in
    ``data`` are written as strings ("40.00"), so no amount passes through a float.
    """
    event = {"id": event_id, "type": event_type, "created": created, "data": dict(data)}
    payload = json.dumps(event, default=_json_default, separators=(",", ":"), sort_keys=True).encode()
    return payload, sign_webhook(payload, secret, created)


# --- the simulated gateway -------------------------------------------------------------------


@dataclass(slots=True)
class _Authorization:
    id: str
    currency: str
    ledger: PaymentLedger


class SimulatedGateway:
    """SIMULATED: no real money moves. A local, in-memory, deterministic stand-in for a card processor.

    The default adapter for development and tests. Test tokens, as Stripe's:

    - ``tok_visa``: approved.
    - ``tok_decline``: declined, ``card_declined``.
    - ``tok_insufficient_funds``: declined, ``insufficient_funds``.
    - ``tok_retry``: the first call with an idempotency key raises :class:`GatewayUnavailable`;
      the next call with the same key is approved.
    - any other token: declined, ``unknown_token``.
    - a card number (13 or more digits, spaces or dashes allowed): :class:`GatewayRequestError`
      ``card_number_sent``, before anything is read or kept.

    Rules, as a processor's: capture at most the authorised amount, once (a partial capture
    releases the rest); refunds, partial and repeated, total at most what was captured; void
    only an authorization that was not captured. They are :class:`quotes.payment_states.PaymentLedger`'s.
    Ids are ``sim_auth_000001``, ``sim_ch_000002``... counting from 1 in each instance.
    :meth:`fail_next` simulates an outage. Thread-safe: one lock around each call.

    State lives in this process only; ``gateway_simulator.gateway.DatabaseSimulatedGateway``
    follows the same rules (the functions above) with state shared through the database.
    """

    name = "simulated"

    def __init__(self, *, webhook_secret: str | None = None, clock: Callable[[], float] = time.time) -> None:
        """``webhook_secret`` signs :meth:`emit_webhook` (a random one if not given); ``clock`` gives unix seconds."""
        if webhook_secret is not None and (not isinstance(webhook_secret, str) or not webhook_secret):
            raise ValueError("webhook_secret must be a non-empty str, or None for a random one.")
        self.webhook_secret = secrets.token_hex(32) if webhook_secret is None else webhook_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._sequence = 0
        self._authorizations: dict[str, _Authorization] = {}
        self._charges: dict[str, str] = {}  # charge id -> authorization id
        self._replies: dict[str, tuple[tuple[object, ...], GatewayResult]] = {}  # idempotency key -> (request, result)
        self._retried_keys: set[str] = set()
        self._failures_due = 0
        self._actions: list[GatewayResult] = []

    @property
    def actions(self) -> tuple[GatewayResult, ...]:
        """Every result the gateway acted on, in order; an idempotent replay adds nothing."""
        return tuple(self._actions)

    def fail_next(self, calls: int = 1) -> None:
        """Make the next ``calls`` requests raise :class:`GatewayUnavailable` before doing anything, as in an outage."""
        calls = check_fail_next(calls)
        with self._lock:
            self._failures_due = calls

    def _next_id(self, kind: str) -> str:
        self._sequence += 1
        return simulated_id(kind, self._sequence)

    def _once(self, idempotency_key: str, request: tuple[object, ...], act: Callable[[], GatewayResult]) -> GatewayResult:
        """Run ``act`` once per idempotency key; a replay with the same request returns the first result. Errors are not kept."""
        with self._lock:
            if self._failures_due:
                self._failures_due -= 1
                raise simulated_outage()
            if idempotency_key in self._replies:
                first_request, result = self._replies[idempotency_key]
                if first_request != request:
                    raise idempotency_key_reused(str(first_request[0]))
                return result
            result = act()
            self._replies[idempotency_key] = (request, result)
            self._actions.append(result)
            return result

    def _authorization(self, authorization_id: str) -> _Authorization:
        authorization = self._authorizations.get(authorization_id)
        if authorization is None:
            raise unknown_authorization()
        return authorization

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str, reference: str) -> GatewayResult:
        """Hold ``amount`` on the card behind ``token``; see the class docstring for the test tokens. Idempotent per key."""
        amount = check_authorize_request(
            token=token, amount=amount, currency=currency, idempotency_key=idempotency_key, reference=reference
        )

        def act() -> GatewayResult:
            if simulated_token_times_out(token) and idempotency_key not in self._retried_keys:
                self._retried_keys.add(idempotency_key)
                raise simulated_timeout()
            ledger, result = simulate_authorize(token, amount, currency, self._next_id)
            self._authorizations[result.gateway_id] = _Authorization(result.gateway_id, currency, ledger)
            return result

        return self._once(idempotency_key, ("authorize", token, amount, currency, reference), act)

    def capture(self, *, authorization_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Take ``amount`` (at most what was authorised), once. The result's ``gateway_id`` is the charge id. Idempotent per key."""
        amount = check_capture_request(authorization_id=authorization_id, amount=amount, idempotency_key=idempotency_key)

        def act() -> GatewayResult:
            authorization = self._authorization(authorization_id)
            authorization.ledger, result = simulate_capture(authorization.ledger, amount, authorization.currency, self._next_id)
            self._charges[result.gateway_id] = authorization.id
            return result

        return self._once(idempotency_key, ("capture", authorization_id, amount), act)

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Give back ``amount`` of a charge; refunds may repeat but never total more than was captured. Idempotent per key."""
        amount = check_refund_request(charge_id=charge_id, amount=amount, idempotency_key=idempotency_key)

        def act() -> GatewayResult:
            if charge_id not in self._charges:
                raise unknown_charge()
            authorization = self._authorizations[self._charges[charge_id]]
            authorization.ledger, result = simulate_refund(authorization.ledger, amount, authorization.currency, self._next_id)
            return result

        return self._once(idempotency_key, ("refund", charge_id, amount), act)

    def void(self, *, authorization_id: str, idempotency_key: str) -> GatewayResult:
        """Release an authorization that was not captured; the result's amount is what was held. Idempotent per key."""
        check_void_request(authorization_id=authorization_id, idempotency_key=idempotency_key)

        def act() -> GatewayResult:
            authorization = self._authorization(authorization_id)
            authorization.ledger, result = simulate_void(authorization.ledger, authorization.id, authorization.currency)
            return result

        return self._once(idempotency_key, ("void", authorization_id), act)

    def emit_webhook(self, event_type: str, data: Mapping[str, object]) -> tuple[bytes, str]:
        """A webhook as this gateway would send it now: ``(body, signature header)``, signed with ``webhook_secret``.

        The body is ``{"id", "type", "created", "data"}`` as compact JSON; ``Decimal`` values in
        ``data`` are written as strings ("40.00"), so no amount passes through a float.
        """
        check_event_type(event_type)
        with self._lock:
            event_id = self._next_id("evt")
        return simulated_webhook(event_id, event_type, data, created=int(self._clock()), secret=self.webhook_secret)
