"""The only code that moves money: deposits, collection at completion, cancellation, refunds, webhooks.

Every gateway request is a :class:`~payments.models.PaymentOperation` with a unique idempotency
key, written before the call and completed after it; asking twice (a retry, a redelivered
event, a double click) reaches the gateway with the same key and moves money once. No gateway
call is ever made inside a database transaction: the intent commits first, the call follows,
and a second transaction records the outcome and emits the events.

Where money moves:

- Acceptance (:func:`deposit_authorize`, synchronous, outside any transaction): the deposit is
  held on the card. Then :func:`payment_open` records the payment in the acceptance's transaction.
- Completion (:func:`payment_collect`, run by the ``payments`` consumer once the customer approved
  the work, the approval window ended, or staff resolved a dispute: ``payments/approval.py``)
  records the intent; the payments executor (``payments/executor.py``) makes the calls: the held
  deposit is captured (or released when nothing is to be charged), the rest (price + tip - any
  agreed reduction) is authorised and captured with the same card token, and the tradesperson's
  payout (that less the platform fee; a tip carries no fee) becomes owed (``payout_due``).
- Cancellation (:func:`payment_cancel`, the ``payments`` consumer on ``job.cancelled``, records
  the intent; the executor calls): the cancellation policy (``payments/cancellation.py``) decides
  a fee, taken from the hold; the rest of the hold is released.
- Refunds (:func:`payment_refund`, staff): part or all of what was kept, from the latest charge first.
- Webhooks (:func:`webhook_receive`): signed, recorded once by event id; a refund or a released
  hold made at the gateway is applied once, whatever order or how often it arrives.

After each change the payment's whole state goes to the compacted ``marketplace.payments``
topic (``payment.snapshot``) and, once settled (nothing held, nothing owed to the customer or the
tradesperson), a tombstone (``payment.settled``).

Payouts are not made here: a settled payment's ``payout_due`` accumulates with the tradesperson's
other payments until the payout run (:mod:`payments.payouts`, the clock) pays it through the payout
provider (SIMULATED by default, asynchronous: pending, in transit, paid or failed). A refund after a
payout makes ``payout_due`` negative; the next payout recovers it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from jobs.events import JOB_NO_SHOW, JobNoShowV1
from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.cards import luhn_like_numbers, redact_card_numbers
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import PendingEvent, emit_many
from marketplace.money import format_money, share_of
from marketplace.payment_words import decline_reason
from payments.gateway import GatewayRequestError, GatewayResult, GatewayUnavailable, PaymentGateway
from payments.webhooks import WebhookRejected, verify_webhook
from scheduling.models import BookedTime
from tracking.models import Visit

from . import events as ev
from . import lifecycle
from .cancellation import Booking, CancellationCharge, CancellationOutlook, CancellationTerms, cancellation_charge, cancellation_outlook
from .models import GatewayWebhook, Payment, PaymentOperation

if TYPE_CHECKING:  # a payment belongs to an acceptance (quotes sits above payments and calls it)
    from quotes.models import QuoteAcceptance

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
Op = PaymentOperation


@cache
def gateway() -> PaymentGateway:
    """The configured adapter (``settings.PAYMENTS["GATEWAY"]``), one per process."""
    cls = import_string(settings.PAYMENTS["GATEWAY"])
    instance: PaymentGateway = cls()
    return instance


def _currency() -> str:
    return str(settings.PRICING["CURRENCY"])


def _check_token(card_token: str) -> str:
    token = (card_token or "").strip()
    if luhn_like_numbers(token) or sum(ch.isdigit() for ch in token) >= 12:
        raise ServiceError("Send the card token from the payment form, never a card number.", code="card_number_sent", kind=Refusal.INVALID)
    if not token or len(token) > 64:
        raise ServiceError("Choose a card to pay the deposit with.", code="card_required", kind=Refusal.INVALID)
    return token


def _unavailable() -> ServiceError:
    return ServiceError(
        "The payment provider is not answering; nothing was charged. Please try again in a minute.",
        code="gateway_unavailable",
        kind=Refusal.UNAVAILABLE,
    )


def _rejected(exc: GatewayRequestError) -> ServiceError:
    return ServiceError(f"The payment provider refused the request: {exc}", code=f"gateway_{exc.code}", kind=Refusal.INVALID)


# --- acceptance: the deposit ------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    """A deposit held at the gateway for an acceptance that is not committed yet."""

    operation_id: int | None
    authorization_id: str
    amount: Decimal
    key: str


def deposit_authorize(*, job: Job, customer: User, amount: Decimal, card_token: str, key: str) -> Hold:
    """Hold ``amount`` on the customer's card (idempotent per ``key``). Call outside a transaction.

    A decline is recorded (``payment.failed``, for staff) and raised as a 402 with the gateway's
    reason; an outage as a 503 (the operation stays pending; ``payments_reconcile`` settles it).
    """
    token = _check_token(card_token)
    if amount == 0:
        return Hold(None, "", ZERO, key)
    op, _ = Op.objects.get_or_create(
        idempotency_key=key,
        defaults={"job": job, "kind": Op.Kind.AUTHORIZE_DEPOSIT, "amount": amount, "card_token": token, "requested_by": customer},
    )
    if (op.job_id, op.kind, op.amount, op.card_token) != (job.pk, Op.Kind.AUTHORIZE_DEPOSIT, amount, token):
        raise ServiceError("This idempotency key was used for another payment; use a new key.", code="idempotency_key_reused")
    if op.status == Op.Status.SUCCEEDED:
        return Hold(op.pk, op.gateway_id, op.amount, key)
    try:
        result = gateway().authorize(token=token, amount=amount, currency=_currency(), idempotency_key=key, reference=f"job:{job.pk}")
    except GatewayUnavailable as exc:
        raise _unavailable() from exc
    except GatewayRequestError as exc:
        _finish(op, Op.Status.FAILED, message=exc.code)
        raise _rejected(exc) from exc
    if not result.ok:
        with transaction.atomic():
            first_time = _finish(op, Op.Status.DECLINED, result=result)
            if first_time:
                emit_many(
                    [
                        PendingEvent(
                            ev.PAYMENT_FAILED,
                            job.pk,
                            {
                                "job_id": job.pk,
                                "payment_id": None,
                                "stage": "deposit",
                                "amount": str(amount),
                                "reason": result.message,
                                "customer_id": customer.pk,
                            },
                            customer.pk,
                        )
                    ]
                )
        raise ServiceError(
            f"Your card was declined: {decline_reason(result.message)}. The quote is still open: try another card.",
            code="card_declined",
            kind=Refusal.DECLINED,
        )
    _finish(op, Op.Status.SUCCEEDED, result=result)
    return Hold(op.pk, result.gateway_id, amount, key)


def _finish(op: PaymentOperation, status: str, *, result: GatewayResult | None = None, message: str = "") -> bool:
    """Record an operation's outcome once; False if it was already recorded."""
    updated = Op.objects.filter(pk=op.pk, status=Op.Status.PENDING).update(
        status=status,
        gateway_id=result.gateway_id if result else "",
        message=(result.message if result else message)[:200],
        completed_at=timezone.now(),
    )
    op.refresh_from_db()
    return bool(updated)


def deposit_release_unused(hold: Hold) -> None:
    """Void a hold whose acceptance did not commit, unless a payment uses it (a concurrent twin request won)."""
    if not hold.authorization_id or hold.operation_id is None:
        return
    with transaction.atomic():
        op = Op.objects.select_for_update().get(pk=hold.operation_id)
        if op.payment_id is not None:
            return
    try:
        gateway().void(authorization_id=hold.authorization_id, idempotency_key=f"{hold.key}:void")
    except (GatewayUnavailable, GatewayRequestError):
        log.warning("payments: could not release unused hold %s; payments_reconcile will retry", hold.authorization_id)
        return
    Op.objects.get_or_create(
        idempotency_key=f"{hold.key}:void",
        defaults={
            "job_id": op.job_id,
            "kind": Op.Kind.VOID_DEPOSIT,
            "amount": hold.amount,
            "status": Op.Status.SUCCEEDED,
            "gateway_id": hold.authorization_id,
            "reason": "The acceptance did not go through.",
            "completed_at": timezone.now(),
        },
    )


def payment_open(*, acceptance: QuoteAcceptance, hold: Hold, card_token: str) -> Payment:
    """Record the payment of an accepted quote with its held deposit (inside the acceptance's transaction)."""
    payment = Payment.objects.create(
        job_id=acceptance.job_id,
        acceptance=acceptance,
        customer_id=acceptance.customer_id,
        tradesperson_id=acceptance.tradesperson_id,
        gateway=gateway().name,
        card_token=_check_token(card_token),
        currency=_currency(),
        status=Payment.Status.DEPOSIT_HELD,
        held=hold.amount,
        deposit_authorization_id=hold.authorization_id,
    )
    if hold.operation_id is not None:
        Op.objects.filter(pk=hold.operation_id).update(payment=payment)
    pending = []
    if hold.amount > 0:
        pending.append(_job_event(ev.DEPOSIT_AUTHORIZED, payment, hold.amount, actor_id=acceptance.customer_id))
    emit_many(pending + _state_events(payment))
    return payment


# --- events -----------------------------------------------------------------------------------


def _job_event(event_type: Any, payment: Payment, amount: Decimal, *, actor_id: int | None = None, **extra: Any) -> PendingEvent:
    data = {
        "job_id": payment.job_id,
        "payment_id": payment.pk,
        "amount": str(amount),
        "status": payment.status,
        # Who is involved, so handlers need not read the job (v2 of these types).
        "customer_id": payment.customer_id,
        "tradesperson_id": payment.tradesperson_id,
    }
    data.update({k: str(v) if isinstance(v, Decimal) else v for k, v in extra.items()})
    return PendingEvent(event_type, payment.job_id, data, actor_id)


def snapshot(payment: Payment) -> ev.PaymentSnapshotV1:
    a = payment.acceptance
    return {
        "payment_id": payment.pk,
        "job_id": payment.job_id,
        "customer_id": payment.customer_id,
        "tradesperson_id": payment.tradesperson_id,
        "status": payment.status,
        "currency": payment.currency,
        "version": payment.version,
        "total": str(a.total),
        "deposit": str(a.deposit),
        "balance": str(a.balance),
        "tax": str(a.tax),
        "platform_fee": str(a.platform_fee),
        "payout": str(a.payout),
        "held": str(payment.held),
        "captured": str(payment.captured),
        "refunded": str(payment.refunded),
        "cancellation_fee": str(payment.cancellation_fee),
        "platform_revenue": str(payment.platform_revenue),
        "payout_due": str(payment.payout_due),
        "payout_paid": str(payment.payout_paid),
    }


def _state_events(payment: Payment) -> list[PendingEvent[Any]]:
    """The snapshot, and the tombstone if the payment is now settled."""
    pending: list[PendingEvent[Any]] = [PendingEvent(ev.PAYMENT_SNAPSHOT, payment.pk, snapshot(payment))]
    if payment.status in lifecycle.SETTLED and payment.held == 0 and payment.payout_due == 0:
        pending.append(
            PendingEvent(
                ev.PAYMENT_SETTLED,
                payment.pk,
                {"payment_id": payment.pk, "job_id": payment.job_id, "status": payment.status},
                tombstone=True,
            )
        )
    return pending


def _save(payment: Payment, pending: list[PendingEvent]) -> None:
    """Save a changed payment (version bumped) and write its events.

    What the tradesperson is owed (``payout_due``) stays owed, or to recover when negative, until a
    payout includes it (``payments/payouts.py`` moves it to ``payout_paid`` when the payout is paid).
    """
    if payment.status in lifecycle.SETTLED and payment.settled_at is None:
        payment.settled_at = timezone.now()
    payment.version += 1
    payment.save()
    emit_many(pending + _state_events(payment))


def _operation(payment: Payment, kind: str, amount: Decimal, key: str, **fields: Any) -> PaymentOperation:
    op, _ = Op.objects.get_or_create(
        idempotency_key=key, defaults={"payment": payment, "job_id": payment.job_id, "kind": kind, "amount": amount, **fields}
    )
    return op


# --- intents: what the payments executor carries out -----------------------------------------

WAKE_CHANNEL = "payment_operations"


def _intend(payment: Payment, kind: str, amount: Decimal, key: str, **fields: Any) -> PaymentOperation:
    """Write a pending operation for the payments executor, due now, and wake it when the caller's transaction commits.

    No gateway call here: the executor makes it outside any transaction (``payments/executor.py``)
    and records the outcome with :func:`payment_operation_record`. Idempotent per ``key``.
    """
    op = _operation(payment, kind, amount, key, next_attempt_at=timezone.now(), **fields)
    with connection.cursor() as cursor:
        # Postgres delivers a NOTIFY only when the transaction commits, so the executor never wakes before the intent is visible.
        cursor.execute("SELECT pg_notify(%s, '')", [WAKE_CHANNEL])
    return op


def _backoff_s(attempts: int) -> int:
    """1 s, 2 s, 4 s... after each outage, at most ``PAYMENTS["EXECUTOR_BACKOFF_MAX_S"]``."""
    return int(min(2 ** max(attempts - 1, 0), settings.PAYMENTS["EXECUTOR_BACKOFF_MAX_S"]))


def payment_operation_retry_later(*, operation: PaymentOperation, error: str) -> None:
    """The gateway was unreachable: give the lease back and retry after a backoff, with the same idempotency key."""
    Op.objects.filter(pk=operation.pk, status=Op.Status.PENDING).update(
        leased_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=_backoff_s(operation.attempts)),
        last_error=error[:200],
    )


def payment_operation_failed(*, operation: PaymentOperation, code: str) -> None:
    """The gateway refused the request for good (``GatewayRequestError``): record it; the payment stays where it is, for staff.

    Retrying cannot help (a capture of a hold the provider already released, say), so nothing is
    retried; the error log line names the operation for whoever fixes it.
    """
    if _finish(operation, Op.Status.FAILED, message=code):
        log.error(
            "payments: the gateway refused %s operation %s for good (%s); payment %s needs a person",
            operation.kind,
            operation.pk,
            code,
            operation.payment_id,
        )


def payment_operation_record(*, operation: PaymentOperation, result: GatewayResult) -> Payment | None:
    """Record the gateway's answer to a pending operation, once, and apply it to the payment (one transaction).

    Emits what the step means (``payment.captured``, ``payment.failed``, ``payment.voided``,
    ``payment.refunded``) with the snapshot and, when settled, the tombstone. A step of a
    collection writes the next step's intent (capture the deposit, authorise the balance, capture
    it). A second answer for the same operation (an executor whose lease ran out) changes nothing.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("acceptance").filter(pk=operation.payment_id or 0).first()
        if not _finish(operation, Op.Status.SUCCEEDED if result.ok else Op.Status.DECLINED, result=result) or payment is None:
            return payment
        if operation.kind == Op.Kind.REFUND:
            if result.ok:
                _apply_refund(payment, operation.amount)
                _save(payment, [_refunded_event(payment, operation)])
            return payment
        if not result.ok and operation.kind != Op.Kind.AUTHORIZE_BALANCE:
            # Captures and voids are not declined by a processor; a soft "retry" answer is one.
            log.error(
                "payments: %s operation %s answered %s; payment %s needs a person", operation.kind, operation.pk, result.status, payment.pk
            )
            return payment
        if payment.status == Payment.Status.COMPLETING:
            _save(payment, _collect_step_done(payment, operation, result))
        elif payment.status == Payment.Status.CANCELLING:
            if operation.kind == Op.Kind.CAPTURE_DEPOSIT:
                payment.captured += result.amount
            fee = operation.amount if operation.kind == Op.Kind.CAPTURE_DEPOSIT else ZERO
            _save(payment, _cancel_done(payment, fee=fee, reason=operation.reason))
        else:
            log.error("payments: operation %s answered for payment %s, which is %s", operation.pk, payment.pk, payment.status)
        return payment


# --- completion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionTerms:
    """What completing a payment takes: the one place price, tip and an agreed reduction are combined."""

    charge: Decimal  # taken from the card in all: price + tip - reduction
    platform_fee: Decimal  # the marketplace's share: none of the tip; on a reduced price, the same share as of the full one
    status: str  # where the payment ends once charged


def collection_terms(payment: Payment) -> CollectionTerms:
    """Price + tip - reduction (``payments/approval.py`` sets the last two), the platform fee on it, and the final status."""
    acceptance = payment.acceptance
    price = acceptance.total - payment.reduction
    fee = acceptance.platform_fee if payment.reduction == 0 else share_of(price, acceptance.platform_fee, acceptance.total)
    status = Payment.Status.PAID
    if payment.reduction > 0:
        status = Payment.Status.REFUNDED if price == 0 else Payment.Status.PARTIALLY_REFUNDED
    return CollectionTerms(charge=price + payment.tip, platform_fee=fee, status=status)


def _amount_to_collect(payment: Payment) -> Decimal:
    """What the customer still owes: price + tip - reduction, less what was already taken. The one place it is worked out."""
    return collection_terms(payment).charge - payment.captured


# Approved by the customer (or the clock) or resolved by staff; deposit_held: completed before sign-off existed.
COLLECTABLE = frozenset({Payment.Status.COMPLETING, Payment.Status.DEPOSIT_HELD})
_COLLECTION_STEPS = (Op.Kind.CAPTURE_DEPOSIT, Op.Kind.VOID_DEPOSIT, Op.Kind.AUTHORIZE_BALANCE, Op.Kind.CAPTURE_BALANCE)


def payment_collect(*, job_id: int) -> Payment | None:
    """Record the intent to take the price (plus tip, less any reduction: :func:`collection_terms`); the payments executor takes it.

    Runs in the ``payments`` consumer's transaction and calls no gateway: the payment is (or
    becomes) ``completing`` and its first step is written as a pending operation (capture the held
    deposit, release it when nothing is to be charged, or authorise the balance when nothing is
    held). Each recorded step writes the next (:func:`payment_operation_record`) until the payment
    is paid or refunded in part or in full (``payment.captured``), or ``balance_failed``
    (``payment.failed``). Idempotent: a redelivered event finds the collection under way and
    changes nothing.
    """
    payment = Payment.objects.select_for_update().select_related("acceptance").filter(job_id=job_id).first()
    if payment is None or payment.status not in COLLECTABLE:
        return None
    if payment.status == Payment.Status.COMPLETING and Op.objects.filter(payment=payment, kind__in=_COLLECTION_STEPS).exists():
        return None  # a redelivered event: the collection is under way
    if payment.status == Payment.Status.DEPOSIT_HELD:
        lifecycle.move(payment, Payment.Status.COMPLETING)
    _save(payment, _collect_next(payment))
    return payment


def _collect_next(payment: Payment) -> list[PendingEvent]:
    """Write the next step of a collection as an intent; with nothing left to take, the payment is done (its events returned)."""
    base = f"payment:{payment.pk}"
    terms = collection_terms(payment)
    if payment.held > 0 and terms.charge == 0:  # refunded in full after a dispute: release the hold, take nothing
        _intend(payment, Op.Kind.VOID_DEPOSIT, payment.held, f"{base}:void", reason="Refunded in full")
        return []
    if payment.held > 0:
        _intend(payment, Op.Kind.CAPTURE_DEPOSIT, min(payment.held, terms.charge), f"{base}:capture_deposit")
        return []
    rest = _amount_to_collect(payment)
    if rest > 0:
        if not payment.balance_authorization_id:
            _intend(payment, Op.Kind.AUTHORIZE_BALANCE, rest, f"{base}:authorize_balance", card_token=payment.card_token)
        else:
            _intend(payment, Op.Kind.CAPTURE_BALANCE, rest, f"{base}:capture_balance")
        return []
    lifecycle.move(payment, terms.status)
    payment.platform_revenue = terms.platform_fee
    payment.payout_due = payment.captured - terms.platform_fee - payment.payout_paid
    if payment.captured == 0:
        return []
    return [_job_event(ev.PAYMENT_CAPTURED, payment, payment.captured, captured_total=payment.captured, reason="Job completed")]


def _collect_step_done(payment: Payment, op: PaymentOperation, result: GatewayResult) -> list[PendingEvent]:
    """Apply one recorded step of a collection and write the next; a declined balance ends it in ``balance_failed``."""
    if op.kind == Op.Kind.CAPTURE_DEPOSIT:
        payment.held = ZERO  # capturing less than the hold releases the rest
        payment.captured += result.amount
    elif op.kind == Op.Kind.VOID_DEPOSIT:
        released, payment.held = payment.held, ZERO
        return [_job_event(ev.PAYMENT_VOIDED, payment, released, reason=op.reason), *_collect_next(payment)]
    elif op.kind == Op.Kind.CAPTURE_BALANCE:
        payment.captured += result.amount
    elif op.kind == Op.Kind.AUTHORIZE_BALANCE and result.ok:
        payment.balance_authorization_id = result.gateway_id
    elif op.kind == Op.Kind.AUTHORIZE_BALANCE:
        lifecycle.move(payment, Payment.Status.BALANCE_FAILED)
        pending: list[PendingEvent] = [
            PendingEvent(
                ev.PAYMENT_FAILED,
                payment.job_id,
                ev.PaymentFailedV2(
                    job_id=payment.job_id,
                    payment_id=payment.pk,
                    stage="balance",
                    amount=str(op.amount),
                    reason=result.message,
                    customer_id=payment.customer_id,
                    tradesperson_id=payment.tradesperson_id,
                ),
            )
        ]
        if payment.captured > 0:
            pending.append(_job_event(ev.PAYMENT_CAPTURED, payment, payment.captured, captured_total=payment.captured, reason="Deposit"))
        return pending
    return _collect_next(payment)


def payment_pay_balance(*, payment: Payment, actor: User, card_token: str, idempotency_key: str = "") -> Payment:
    """After a failed balance charge, the customer pays the rest with another card (synchronous)."""
    token = _check_token(card_token)
    if payment.customer_id != actor.pk:
        raise ServiceError("Only the customer can pay for this job.", code="forbidden", kind=Refusal.FORBIDDEN)
    payment.refresh_from_db()
    if payment.status != Payment.Status.BALANCE_FAILED:
        raise ServiceError("Nothing is due on this job.", code="nothing_due")
    rest = collection_terms(payment).charge - payment.captured
    key = f"payment:{payment.pk}:balance:{idempotency_key or hashlib.sha256(token.encode()).hexdigest()[:16]}"[:100]
    try:
        result = gateway().authorize(
            token=token, amount=rest, currency=payment.currency, idempotency_key=key, reference=f"job:{payment.job_id}"
        )
        if not result.ok:
            raise ServiceError(f"Your card was declined: {decline_reason(result.message)}.", code="card_declined", kind=Refusal.DECLINED)
        charge = gateway().capture(authorization_id=result.gateway_id, amount=rest, idempotency_key=f"{key}:capture")
    except GatewayUnavailable as exc:
        raise _unavailable() from exc
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("acceptance").get(pk=payment.pk)
        if payment.status != Payment.Status.BALANCE_FAILED:
            return payment
        for kind, amount, op_key, res in (
            (Op.Kind.AUTHORIZE_BALANCE, rest, key, result),
            (Op.Kind.CAPTURE_BALANCE, rest, f"{key}:capture", charge),
        ):
            op = _operation(payment, kind, amount, op_key, card_token=token, requested_by=actor)
            _finish(op, Op.Status.SUCCEEDED, result=res)
        payment.captured += charge.amount
        payment.card_token = token
        terms = collection_terms(payment)
        lifecycle.move(payment, terms.status)
        payment.platform_revenue = terms.platform_fee
        payment.payout_due = payment.captured - payment.platform_revenue - payment.payout_paid
        _save(
            payment,
            [_job_event(ev.PAYMENT_CAPTURED, payment, charge.amount, actor_id=actor.pk, captured_total=payment.captured, reason="Balance")],
        )
    return payment


# --- cancellation -----------------------------------------------------------------------------


def _platform_share(amount: Decimal, acceptance: QuoteAcceptance) -> Decimal:
    """The platform's share of ``amount`` kept from the customer, as it keeps of the whole (``platform_fee / total``).

    Negative when the platform's own promo is bigger than its fee (``acceptance.platform_fee < 0``):
    the platform then pays the tradesperson more than it kept, as it would have on completion.
    """
    if acceptance.platform_fee >= 0:
        return share_of(amount, acceptance.platform_fee, acceptance.total)
    return -share_of(amount, -acceptance.platform_fee, acceptance.total)


def _appointment_start(job: Job) -> datetime | None:
    """The job's preferred window start: what a job never booked is judged against (its bookings are in :func:`_bookings`)."""
    return job.window_start


def _bookings(job_id: int) -> list[Booking]:
    """Every start the job was booked for, and who ended each booking: what a cancellation is judged against."""
    return [
        Booking(starts_at=b.starts_at, booked_at=b.booked_at, ended_at=b.ended_at, ended_by_customer=b.ended_by == "customer")
        for b in BookedTime.objects.filter(job_id=job_id).order_by("booked_at", "pk")
    ]


def pro_no_show(*, job_id: int, at: datetime, terms: CancellationTerms | None = None) -> bool:
    """Whether the tradesperson is a no-show at ``at``: the job's latest booking was still standing
    ``PRO_NO_SHOW_MINUTES`` after its start and they had not arrived by then (geofence or tap)."""
    terms = terms or CancellationTerms.from_settings(settings.PAYMENTS)
    booked = [b for b in _bookings(job_id) if b.booked_at <= at]
    if not booked:
        return False
    latest = booked[-1]
    deadline = latest.starts_at + timedelta(minutes=terms.pro_late_minutes)
    if at < deadline or (latest.ended_at is not None and latest.ended_at < deadline):
        return False
    arrived_at = Visit.objects.filter(job_id=job_id).values_list("arrived_at", flat=True).first()
    return arrived_at is None or arrived_at > deadline


def cancellation_outlook_for(job: Job, *, now: datetime | None = None) -> CancellationOutlook | None:
    """What the customer of ``job`` would pay to cancel now, and until when it is free (for the job page). None: nothing held."""
    payment = Payment.objects.select_related("acceptance").filter(job_id=job.pk).first()
    if payment is None or payment.status != Payment.Status.DEPOSIT_HELD:
        return None
    now = now or timezone.now()
    terms = CancellationTerms.from_settings(settings.PAYMENTS)
    return cancellation_outlook(
        terms=terms,
        deposit=payment.held,
        accepted_at=payment.acceptance.accepted_at,
        now=now,
        appointment_start=_appointment_start(job),
        bookings=_bookings(job.pk),
        pro_no_show=pro_no_show(job_id=job.pk, at=now, terms=terms),
    )


def payment_cancel(*, job_id: int, cancelled_at: datetime, by_customer: bool, customer_no_show: bool = False) -> Payment | None:
    """Record the intent to apply the cancellation policy to a held deposit; the payments executor takes the fee or releases it.

    Runs in the ``payments`` consumer's transaction and calls no gateway: the policy decides the
    fee now (from ``cancelled_at``), the payment becomes ``cancelling`` and one pending operation
    is written (capture the fee from the hold, or void the hold). When it is recorded the payment
    is ``cancelled`` (``payment.voided``, and ``payment.captured`` for a fee). Nothing held:
    cancelled at once. Idempotent.

    ``customer_no_show``: the tradesperson cancelled because the customer was not there (a call-out fee).
    A tradesperson no-show (:func:`pro_no_show`) is read from the visit here.
    """
    payment = Payment.objects.select_for_update().select_related("acceptance", "job").filter(job_id=job_id).first()
    if payment is None or payment.status != Payment.Status.DEPOSIT_HELD:
        return None
    acceptance = payment.acceptance
    terms = CancellationTerms.from_settings(settings.PAYMENTS)
    charge = cancellation_charge(
        terms=terms,
        deposit=payment.held,
        accepted_at=acceptance.accepted_at,
        cancelled_at=cancelled_at,
        appointment_start=_appointment_start(payment.job),
        by_customer=by_customer,
        bookings=_bookings(job_id),
        pro_no_show=by_customer and pro_no_show(job_id=job_id, at=cancelled_at, terms=terms),
        customer_no_show=customer_no_show,
    )
    lifecycle.move(payment, Payment.Status.CANCELLING)
    base = f"payment:{payment.pk}"
    # A no-show is decided now, with the cancellation, whether or not a fee is still to be taken.
    no_show = [_no_show_event(payment, charge, cancelled_at)] if charge.rule in ("no_show_pro", "no_show_customer") else []
    if payment.held == 0:
        _save(payment, _cancel_done(payment, fee=ZERO, reason=charge.reason) + no_show)
    elif charge.fee > 0:
        _intend(payment, Op.Kind.CAPTURE_DEPOSIT, charge.fee, f"{base}:cancellation_fee", reason=charge.reason[:200])
        _save(payment, no_show)
    else:
        _intend(payment, Op.Kind.VOID_DEPOSIT, payment.held, f"{base}:void", reason=charge.reason[:200])
        _save(payment, no_show)
    return payment


def _cancel_done(payment: Payment, *, fee: Decimal, reason: str) -> list[PendingEvent]:
    """The hold is settled (``fee`` taken from it, the rest released): the payment is cancelled; its events."""
    acceptance = payment.acceptance
    released = payment.held - fee
    payment.held = ZERO
    payment.cancellation_fee = fee
    payment.platform_revenue = _platform_share(payment.captured, acceptance)
    payment.payout_due = payment.captured - payment.platform_revenue - payment.payout_paid
    lifecycle.move(payment, Payment.Status.CANCELLED)
    pending = [_job_event(ev.PAYMENT_VOIDED, payment, released, cancellation_fee=fee, reason=reason)]
    if fee > 0:
        pending.append(_job_event(ev.PAYMENT_CAPTURED, payment, fee, captured_total=payment.captured, reason="Cancellation fee"))
    return pending


def _no_show_event(payment: Payment, charge: CancellationCharge, cancelled_at: datetime) -> PendingEvent:
    """``job.no_show``: who was not there for the latest booked start (the pro-stats consumer counts a tradesperson's)."""
    booked = [b for b in _bookings(payment.job_id) if b.booked_at <= cancelled_at]
    start = booked[-1].starts_at if booked else cancelled_at
    return PendingEvent(
        JOB_NO_SHOW,
        payment.job_id,
        JobNoShowV1(
            job_id=payment.job_id,
            side="tradesperson" if charge.rule == "no_show_pro" else "customer",
            customer_id=payment.customer_id,
            tradesperson_id=payment.tradesperson_id,
            starts_at=start.astimezone(UTC).isoformat(),
            fee=str(charge.fee),
        ),
    )


# --- refunds ----------------------------------------------------------------------------------


def _charges(payment: Payment) -> list[tuple[str, Decimal]]:
    """(charge id, refundable) for each capture, latest first."""
    captures = Op.objects.filter(
        payment=payment, status=Op.Status.SUCCEEDED, kind__in=[Op.Kind.CAPTURE_DEPOSIT, Op.Kind.CAPTURE_BALANCE]
    ).order_by("-id")
    refunded: dict[str, Decimal] = {}
    for r in Op.objects.filter(payment=payment, kind=Op.Kind.REFUND).exclude(status__in=[Op.Status.DECLINED, Op.Status.FAILED]):
        refunded[r.charge_id] = refunded.get(r.charge_id, ZERO) + r.amount
    return [(c.gateway_id, c.amount - refunded.get(c.gateway_id, ZERO)) for c in captures]


def _apply_refund(payment: Payment, amount: Decimal) -> None:
    acceptance = payment.acceptance
    payment.refunded += amount
    kept = payment.captured - payment.refunded
    payment.platform_revenue = min(payment.platform_revenue, _platform_share(kept, acceptance))
    payment.payout_due = kept - payment.platform_revenue - payment.payout_paid
    lifecycle.move(payment, Payment.Status.REFUNDED if kept == 0 else Payment.Status.PARTIALLY_REFUNDED)


def payment_refund(*, payment: Payment, actor: User, amount: Decimal, reason: str, idempotency_key: str) -> Payment:
    """Give back part or all of what the customer paid (staff only). Idempotent per ``idempotency_key``."""
    if not actor.is_staff:
        raise ServiceError("Only staff can refund a payment.", code="forbidden", kind=Refusal.FORBIDDEN)
    key = (idempotency_key or "").strip()
    if not key:
        raise ServiceError("A refund needs an idempotency key.", code="idempotency_key_required", kind=Refusal.INVALID)
    if amount <= 0:
        raise ServiceError(f"A refund must be more than {format_money(0)}.", code="bad_amount", kind=Refusal.INVALID)
    reason = redact_card_numbers(reason or "")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("acceptance").get(pk=payment.pk)
        done = list(Op.objects.filter(payment=payment, kind=Op.Kind.REFUND, idempotency_key__startswith=f"refund:{key}:"))
        if not done:
            if payment.status not in (Payment.Status.PAID, Payment.Status.PARTIALLY_REFUNDED, Payment.Status.CANCELLED):
                raise ServiceError(f"A payment that is {payment.get_status_display().lower()} cannot be refunded.", code="not_refundable")
            refundable = payment.captured - payment.refunded
            if amount > refundable:
                raise ServiceError(f"At most {format_money(refundable)} can be refunded.", code="exceeds_refundable", kind=Refusal.INVALID)
            left = amount
            for charge_id, available in _charges(payment):
                part = min(left, available)
                if part > 0:
                    done.append(
                        _operation(
                            payment,
                            Op.Kind.REFUND,
                            part,
                            f"refund:{key}:{charge_id}",
                            charge_id=charge_id,
                            reason=reason[:200],
                            requested_by=actor,
                            # This request calls the gateway now; should it not finish, the executor does after a lease.
                            next_attempt_at=timezone.now() + timedelta(seconds=settings.PAYMENTS["EXECUTOR_LEASE_S"]),
                        )
                    )
                    left -= part
    _run_pending_refunds(done)
    return Payment.objects.get(pk=payment.pk)


def _run_pending_refunds(ops: list[PaymentOperation]) -> None:
    """Ask the gateway for each pending refund (same key on a retry, outside any transaction), then record each result once.

    A refund this request could not finish (an outage, a crash) is finished by the payments
    executor once its ``next_attempt_at`` passes, with the same key.
    """
    for op in ops:
        if op.status != Op.Status.PENDING:
            continue
        try:
            result = gateway().refund(charge_id=op.charge_id, amount=op.amount, idempotency_key=op.idempotency_key)
        except GatewayUnavailable as exc:
            raise _unavailable() from exc
        payment_operation_record(operation=op, result=result)


def _refunded_event(payment: Payment, op: PaymentOperation) -> PendingEvent:
    return _job_event(
        ev.PAYMENT_REFUNDED, payment, op.amount, actor_id=op.requested_by_id, refunded_total=payment.refunded, reason=op.reason
    )


# --- webhooks ---------------------------------------------------------------------------------


class WebhookNotReady(Exception):
    """The webhook is about something we have not recorded yet: answer non-2xx so the gateway sends it again."""


def webhook_receive(*, body: bytes, signature: str, gateway_name: str = "simulated") -> str:
    """Verify, record once and apply a gateway webhook. Returns the outcome; raises WebhookRejected (forged/stale) or WebhookNotReady."""
    secret = settings.PAYMENTS["WEBHOOK_SECRET"]
    if not secret:
        raise WebhookRejected("bad_signature", "Webhooks are not configured (PAYMENTS_WEBHOOK_SECRET is empty).")
    event = verify_webhook(
        body, signature, secret, now=int(timezone.now().timestamp()), tolerance_s=settings.PAYMENTS["WEBHOOK_TOLERANCE_S"]
    )
    event_id, event_type, data = str(event["id"]), str(event["type"]), event.get("data") or {}
    try:
        with transaction.atomic():
            record = GatewayWebhook.objects.create(
                gateway=gateway_name,
                event_id=event_id[:100],
                event_type=event_type[:100],
                created=datetime.fromtimestamp(int(event["created"]), tz=UTC) if "created" in event else timezone.now(),
                payload=_redacted(event),
                outcome="received",
            )
            outcome = _apply_webhook(event_type, data)
            GatewayWebhook.objects.filter(pk=record.pk).update(outcome=outcome[:200])
            return outcome
    except IntegrityError:
        return "duplicate: already processed"


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, str):
        return redact_card_numbers(value)
    return value


def _apply_webhook(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "charge.refunded":
        charge_id, refund_id = str(data.get("charge_id", "")), str(data.get("refund_id", ""))
        try:
            amount = Decimal(str(data.get("amount")))
        except ArithmeticError:
            return "ignored: bad amount"
        capture = Op.objects.filter(
            gateway_id=charge_id, kind__in=[Op.Kind.CAPTURE_DEPOSIT, Op.Kind.CAPTURE_BALANCE], status=Op.Status.SUCCEEDED
        ).first()
        if capture is None or capture.payment_id is None:
            raise WebhookNotReady(f"no capture {charge_id} recorded yet")
        if Op.objects.filter(kind=Op.Kind.REFUND, gateway_id=refund_id).exists():
            return "no change: refund already recorded"
        payment = Payment.objects.select_for_update().select_related("acceptance").get(pk=capture.payment_id)
        if amount <= 0 or amount > payment.captured - payment.refunded:
            return "ignored: refund larger than what is refundable"
        Op.objects.create(
            payment=payment,
            job_id=payment.job_id,
            kind=Op.Kind.REFUND,
            amount=amount,
            idempotency_key=f"webhook:{refund_id}"[:100],
            status=Op.Status.SUCCEEDED,
            gateway_id=refund_id,
            charge_id=charge_id,
            reason="Refunded at the payment provider",
            completed_at=timezone.now(),
        )
        _apply_refund(payment, amount)
        _save(
            payment,
            [_job_event(ev.PAYMENT_REFUNDED, payment, amount, refunded_total=payment.refunded, reason="Refunded at the payment provider")],
        )
        return f"refund of {amount} recorded"
    if event_type in ("authorization.voided", "authorization.expired"):
        auth = str(data.get("authorization_id", ""))
        held_payment = Payment.objects.select_for_update().select_related("acceptance").filter(deposit_authorization_id=auth).first()
        if held_payment is None:
            return "no change: not a deposit we hold"
        payment = held_payment
        if payment.status != Payment.Status.DEPOSIT_HELD or payment.held == 0:
            return "no change: the deposit was already taken or released"
        released = payment.held
        payment.held = ZERO
        _save(payment, [_job_event(ev.PAYMENT_VOIDED, payment, released, reason="The card hold lapsed at the payment provider")])
        return f"hold of {released} released by the provider; the full price is charged at completion"
    return f"ignored: {event_type}"


# --- reconciliation (the clock) ----------------------------------------------------------------


def payments_reconcile(*, older_than_s: int = 120) -> int:
    """Release deposit holds whose acceptance never committed (a crash between the gateway and our commit). Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    released = 0
    orphans = Op.objects.filter(kind=Op.Kind.AUTHORIZE_DEPOSIT, payment__isnull=True, created_at__lt=cutoff).exclude(
        status=Op.Status.DECLINED
    )
    for op in orphans:
        if Op.objects.filter(idempotency_key=f"{op.idempotency_key}:void").exists() or op.status == Op.Status.FAILED:
            continue
        if op.status == Op.Status.PENDING:
            try:
                result = gateway().authorize(
                    token=op.card_token,
                    amount=op.amount,
                    currency=_currency(),
                    idempotency_key=op.idempotency_key,
                    reference=f"job:{op.job_id}",
                )
            except (GatewayUnavailable, GatewayRequestError):
                continue
            _finish(op, Op.Status.SUCCEEDED if result.ok else Op.Status.DECLINED, result=result)
            if not result.ok:
                continue
        deposit_release_unused(Hold(op.pk, op.gateway_id, op.amount, op.idempotency_key))
        released += 1
    return released
