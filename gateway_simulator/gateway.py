"""SIMULATED: no real money moves. The simulated card processor with its state in the database.

:class:`DatabaseSimulatedGateway` behaves exactly as :class:`payments.simulator.SimulatedGateway`
(same test tokens, rules, idempotency, errors and messages: both call the rule functions in
:mod:`payments.gateway`), but keeps its authorizations, charges, idempotency replies and id sequence
in the database (:mod:`gateway_simulator.models`). So it plays a remote processor shared by every
process: the web server authorises a deposit, and a later request (after a restart, say) or the
``clock`` process captures, voids or refunds it.

Concurrency. Each call runs in its own ``transaction.atomic()`` and takes, in this order, a
transaction-scoped Postgres advisory lock on its idempotency key (so racing repeats of one request
act once: the second sees the first's reply), a row lock (``select_for_update``) on the
authorization it changes (so two captures of one authorization cannot both succeed), and a row
lock on the id sequence. Call it OUTSIDE your own transactions, as you would a real remote
gateway: inside one, its locks are held and its state hidden from other processes until your
transaction ends, and your rollback would make the "processor" forget what it did. It works
inside one all the same (the atomic block becomes a savepoint), which is what tests rely on.
Postgres at READ COMMITTED (Django's default) is assumed. A database failure during a call
(connection lost, deadlock...) raises :class:`GatewayUnavailable`, as an unreachable processor
would: retry later with the same idempotency key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError, connection, transaction

from payments.gateway import GatewayRequestError, GatewayResult, GatewayUnavailable
from payments.simulator import (
    SimulatedOperation,
    check_authorize_request,
    check_capture_request,
    check_event_type,
    check_fail_next,
    check_refund_request,
    check_void_request,
    idempotency_key_reused,
    simulate_authorize,
    simulate_capture,
    simulate_refund,
    simulate_void,
    simulated_id,
    simulated_outage,
    simulated_timeout,
    simulated_token_times_out,
    simulated_webhook,
    unknown_authorization,
    unknown_charge,
)

from .models import MAX_STORED_AMOUNT, Authorization, Charge, IdempotencyReply, IdSequence, RetriedKey

SEQUENCE_NAME = "ids"
_LOCK_NAMESPACE = b"gateway_simulator.idempotency_key:"

Outcome = GatewayResult | GatewayUnavailable
"""What an action yields: a result to keep, or a timeout to raise once its transaction has committed (``tok_retry``)."""


def request_fingerprint(request: tuple[object, ...]) -> str:
    """A canonical fingerprint of a checked request (operation first; amounts already with two places).

    SHA-256 in base64url, not hex: hex digits often form 13+ digit runs, which card-number scans
    (:func:`marketplace.cards.luhn_like_numbers`) would then report; base64 almost never does.
    """
    canonical = json.dumps([str(part) for part in request], separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _storable(amount: Decimal) -> Decimal:
    if amount > MAX_STORED_AMOUNT:
        raise GatewayRequestError("bad_amount", f"amount is {amount}; the simulated gateway takes at most {MAX_STORED_AMOUNT:,}.")
    return amount


def _lock_idempotency_key(idempotency_key: str) -> None:
    """Hold a transaction-scoped advisory lock on the key: a key that has no row yet cannot be locked with select_for_update."""
    digest = hashlib.sha256(_LOCK_NAMESPACE + idempotency_key.encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


def _next_id(kind: str) -> str:
    """The next simulated id, from the one shared counter, locked until the caller's transaction ends (no gaps, no repeats)."""
    IdSequence.objects.bulk_create([IdSequence(name=SEQUENCE_NAME, value=0)], ignore_conflicts=True)
    sequence = IdSequence.objects.select_for_update().get(name=SEQUENCE_NAME)
    sequence.value += 1
    sequence.save(update_fields=["value"])
    return simulated_id(kind, sequence.value)


def _locked_authorization(authorization_id: str) -> Authorization:
    authorization = Authorization.objects.select_for_update().filter(pk=authorization_id).first()
    if authorization is None:
        raise unknown_authorization()
    return authorization


@contextmanager
def _unreachable_as_unavailable() -> Iterator[None]:
    """The database failing (connection lost, deadlock, serialization failure) is the processor being unreachable.

    The call's transaction did not commit (or, if the connection dropped during COMMIT, the
    retry with the same key finds its reply): retrying later with the same key is safe.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise GatewayUnavailable("The simulated gateway's database is unavailable; retry later with the same idempotency key.") from exc


def _default_webhook_secret() -> str:
    secret = getattr(settings, "PAYMENTS", {}).get("WEBHOOK_SECRET")
    if not isinstance(secret, str) or not secret:
        raise ImproperlyConfigured(
            "DatabaseSimulatedGateway needs a webhook secret: pass webhook_secret=... or set PAYMENTS['WEBHOOK_SECRET']. "
            "Every process must sign with the same secret, so no random one is made up."
        )
    return secret


class DatabaseSimulatedGateway:
    """SIMULATED: no real money moves. The simulated card processor, with its state shared through the database.

    Same contract as :class:`payments.simulator.SimulatedGateway`, test tokens included:

    - ``tok_visa``: approved.
    - ``tok_decline``: declined, ``card_declined``.
    - ``tok_insufficient_funds``: declined, ``insufficient_funds``.
    - ``tok_retry``: the first call with an idempotency key raises :class:`GatewayUnavailable`;
      the next call with the same key (from any process) is approved.
    - any other token: declined, ``unknown_token``.
    - a card number (13 or more digits, spaces or dashes allowed): :class:`GatewayRequestError`
      ``card_number_sent``, before anything is read or kept.

    Capture at most the authorised amount, once; refunds, partial and repeated, up to what was
    captured; void only what was not captured. A repeat of a request with its idempotency key
    returns the first result without acting again, from any instance or process, after
    restarts too; the same key with other parameters is ``idempotency_key_reused``. Ids count
    from ``sim_auth_000001`` per database. Amounts above 9,999,999,999.99 are ``bad_amount``
    (the columns' limit). :meth:`fail_next` simulates an outage in this instance only.

    Call it outside your own transactions (see the module docstring).
    """

    name = "simulated"

    def __init__(self, *, webhook_secret: str | None = None, clock: Callable[[], float] = time.time) -> None:
        """``webhook_secret`` signs :meth:`emit_webhook` (default ``settings.PAYMENTS["WEBHOOK_SECRET"]``); ``clock``: unix seconds."""
        if webhook_secret is None:
            webhook_secret = _default_webhook_secret()
        elif not isinstance(webhook_secret, str) or not webhook_secret:
            raise ValueError("webhook_secret must be a non-empty str, or None for settings.PAYMENTS['WEBHOOK_SECRET'].")
        self.webhook_secret = webhook_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._failures_due = 0

    @property
    def actions(self) -> tuple[GatewayResult, ...]:
        """Every result the simulated processor acted on, by any instance, in order; an idempotent replay adds nothing.

        Reads every stored reply: for tests and inspection, not for request paths.
        """
        return tuple(reply.result() for reply in IdempotencyReply.objects.order_by("id"))

    def fail_next(self, calls: int = 1) -> None:
        """Make this instance's next ``calls`` requests raise :class:`GatewayUnavailable` before doing anything, as in an outage."""
        calls = check_fail_next(calls)
        with self._lock:
            self._failures_due = calls

    def _once(
        self, operation: SimulatedOperation, idempotency_key: str, params: tuple[object, ...], act: Callable[[], Outcome]
    ) -> GatewayResult:
        """Run ``act`` once per idempotency key, in one transaction; a repeat of the same request returns the first result.

        Errors are not kept (the transaction rolls back, so the key stays unused).
        """
        with self._lock:
            if self._failures_due:
                self._failures_due -= 1
                raise simulated_outage()
        fingerprint = request_fingerprint((operation, *params))
        with _unreachable_as_unavailable(), transaction.atomic():
            _lock_idempotency_key(idempotency_key)
            reply = IdempotencyReply.objects.filter(key=idempotency_key).first()
            if reply is not None:
                if reply.fingerprint != fingerprint:
                    raise idempotency_key_reused(reply.operation)
                return reply.result()
            outcome = act()
            if isinstance(outcome, GatewayResult):
                IdempotencyReply.objects.create(
                    key=idempotency_key,
                    operation=operation,
                    fingerprint=fingerprint,
                    ok=outcome.ok,
                    status=outcome.status,
                    gateway_id=outcome.gateway_id,
                    amount=outcome.amount,
                    message=outcome.message,
                    retryable=outcome.retryable,
                )
        if isinstance(outcome, GatewayUnavailable):
            raise outcome  # after the commit, so the timed-out key is remembered
        return outcome

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str, reference: str) -> GatewayResult:
        """Hold ``amount`` on the card behind ``token``; see the class docstring for the test tokens. Idempotent per key."""
        amount = check_authorize_request(
            token=token, amount=amount, currency=currency, idempotency_key=idempotency_key, reference=reference
        )
        amount = _storable(amount)

        def act() -> Outcome:
            if simulated_token_times_out(token):
                _, created = RetriedKey.objects.get_or_create(key=idempotency_key)
                if created:
                    return simulated_timeout()
            ledger, result = simulate_authorize(token, amount, currency, _next_id)
            authorization = Authorization(id=result.gateway_id, currency=currency)
            authorization.ledger = ledger
            authorization.save(force_insert=True)
            return result

        return self._once("authorize", idempotency_key, (token, amount, currency, reference), act)

    def capture(self, *, authorization_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Take ``amount`` (at most what was authorised), once. The result's ``gateway_id`` is the charge id. Idempotent per key."""
        amount = _storable(check_capture_request(authorization_id=authorization_id, amount=amount, idempotency_key=idempotency_key))

        def act() -> Outcome:
            authorization = _locked_authorization(authorization_id)
            authorization.ledger, result = simulate_capture(authorization.ledger, amount, authorization.currency, _next_id)
            authorization.save(update_fields=["state", "authorized", "captured", "refunded", "updated_at"])
            Charge.objects.create(id=result.gateway_id, authorization=authorization)
            return result

        return self._once("capture", idempotency_key, (authorization_id, amount), act)

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> GatewayResult:
        """Give back ``amount`` of a charge; refunds may repeat but never total more than was captured. Idempotent per key."""
        amount = _storable(check_refund_request(charge_id=charge_id, amount=amount, idempotency_key=idempotency_key))

        def act() -> Outcome:
            charge = Charge.objects.filter(pk=charge_id).first()
            if charge is None:
                raise unknown_charge()
            authorization = _locked_authorization(charge.authorization_id)
            authorization.ledger, result = simulate_refund(authorization.ledger, amount, authorization.currency, _next_id)
            authorization.save(update_fields=["state", "authorized", "captured", "refunded", "updated_at"])
            return result

        return self._once("refund", idempotency_key, (charge_id, amount), act)

    def void(self, *, authorization_id: str, idempotency_key: str) -> GatewayResult:
        """Release an authorization that was not captured; the result's amount is what was held. Idempotent per key."""
        check_void_request(authorization_id=authorization_id, idempotency_key=idempotency_key)

        def act() -> Outcome:
            authorization = _locked_authorization(authorization_id)
            authorization.ledger, result = simulate_void(authorization.ledger, authorization.id, authorization.currency)
            authorization.save(update_fields=["state", "authorized", "captured", "refunded", "updated_at"])
            return result

        return self._once("void", idempotency_key, (authorization_id,), act)

    def emit_webhook(self, event_type: str, data: Mapping[str, object]) -> tuple[bytes, str]:
        """A webhook as this gateway would send it now: ``(body, signature header)``, signed with ``webhook_secret``.

        Event ids come from the shared sequence (``sim_evt_000003``...). The body is ``{"id",
        "type", "created", "data"}`` as compact JSON; ``Decimal`` values in ``data`` are written
        as strings ("40.00"), so no amount passes through a float.
        """
        check_event_type(event_type)
        with _unreachable_as_unavailable(), transaction.atomic():
            event_id = _next_id("evt")
        return simulated_webhook(event_id, event_type, data, created=int(self._clock()), secret=self.webhook_secret)
