"""The simulated processor: the rules a simulated gateway checks, decides and answers, and
:class:`SimulatedGateway`, which keeps its state in memory (one process, for unit tests).
``gateway_simulator.gateway.DatabaseSimulatedGateway`` keeps the same state in the database.
Neither moves money.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from payments.gateway import GatewayRequestError, GatewayResult, GatewayUnavailable, _refuse_card_numbers
from payments.simulated_ledger import IllegalPaymentTransition, PaymentAmountError, PaymentLedger, payment_amount
from payments.webhooks import sign_webhook

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
    only an authorization that was not captured. They are :class:`payments.simulated_ledger.PaymentLedger`'s.
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
