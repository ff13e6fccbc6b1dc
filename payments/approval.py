"""Sign-off: the customer approves the finished work (optionally with a tip) or reports a problem.

The flow (the transition table in ``payments/lifecycle.py`` is the rule):

- The work is marked completed: the ``payments`` consumer calls :func:`payment_request_approval`,
  which moves the payment ``deposit_held -> awaiting_approval`` with a deadline
  (``settings.PAYMENTS["APPROVAL_WINDOW_HOURS"]`` after completion) and emits
  ``payment.approval_requested``. Nothing is charged yet.
- The customer approves (:func:`payment_approve`, with a tip) or the clock approves once the
  deadline passes (:func:`payments_auto_approve`): ``awaiting_approval -> completing`` and
  ``payment.approved``.
- Or the customer reports a problem within the window (:func:`payment_dispute`):
  ``awaiting_approval -> disputed``, a :class:`~payments.models.Dispute`, ``payment.disputed``.
  Staff resolve it in admin (:func:`dispute_resolve`): release, partial or full refund, which sets
  ``Payment.reduction``; ``disputed -> completing`` and ``payment.dispute_resolved``.
- ``payment.approved`` and ``payment.dispute_resolved`` make the ``payments`` consumer run
  ``payment_collect``, which charges :func:`~payments.services.collection_terms` (price + tip -
  reduction). No function here calls the gateway: each is one short transaction that writes the
  payment and its events together.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import User
from marketplace.cards import redact_card_numbers
from marketplace.errors import Refusal, ServiceError
from marketplace.money import format_money

from . import events as ev
from . import lifecycle
from .models import Dispute, Payment
from .services import _job_event, _save

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
DESCRIPTION_MIN, DESCRIPTION_MAX = 10, 2000
NOTE_MAX = 2000


def approval_window() -> timedelta:
    return timedelta(hours=int(settings.PAYMENTS["APPROVAL_WINDOW_HOURS"]))


def tip_limit(payment: Payment) -> Decimal:
    """The largest tip accepted: ``TIP_MAX_PERCENT`` of the price, at most ``TIP_MAX`` (settings.PAYMENTS)."""
    share = payment.acceptance.total * Decimal(str(settings.PAYMENTS["TIP_MAX_PERCENT"])) / 100
    return min(share, Decimal(str(settings.PAYMENTS["TIP_MAX"]))).quantize(CENT, rounding=ROUND_HALF_UP)


def _locked(payment: Payment) -> Payment:
    return Payment.objects.select_for_update().select_related("acceptance").get(pk=payment.pk)


def _customer_only(payment: Payment, actor: User, what: str) -> None:
    if payment.customer_id != actor.pk:
        raise ServiceError(f"Only the customer who booked this job can {what}.", code="forbidden", kind=Refusal.FORBIDDEN)


def _not_awaiting(payment: Payment) -> ServiceError:
    """Why a payment that is not waiting for sign-off cannot be approved or disputed, in words."""
    S = Payment.Status
    if payment.status == S.DEPOSIT_HELD:
        message = "The work hasn't been marked completed yet. You can approve it once the tradesperson has finished."
    elif payment.status == S.DISPUTED:
        message = "You've reported a problem with this job. Our team is looking into it and will let you both know the outcome."
    elif payment.status in (S.CANCELLED, S.CANCELLING):
        message = "This job was cancelled, so there is nothing to approve."
    else:
        message = "This job has already been signed off."
    return ServiceError(message, code="not_awaiting_approval", kind=Refusal.CONFLICT)


def payment_request_approval(*, job_id: int, completed_at: datetime) -> Payment | None:
    """Ask the customer to sign off the completed job (run by the ``payments`` consumer; idempotent).

    ``deposit_held -> awaiting_approval``, due ``APPROVAL_WINDOW_HOURS`` after ``completed_at``
    (the event's time, so a redelivery computes the same deadline). Emits ``payment.approval_requested``.
    Any other status: nothing happens (already asked, or cancelled).
    """
    with transaction.atomic():  # a savepoint inside the consumer's transaction; its own transaction elsewhere
        payment = Payment.objects.select_for_update().select_related("acceptance").filter(job_id=job_id).first()
        if payment is None or payment.status != Payment.Status.DEPOSIT_HELD:
            return None
        lifecycle.move(payment, Payment.Status.AWAITING_APPROVAL)
        payment.approval_due_at = completed_at + approval_window()
        due = payment.approval_due_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        _save(payment, [_job_event(ev.APPROVAL_REQUESTED, payment, payment.acceptance.total, approval_due_at=due)])
    return payment


def payment_approve(*, payment: Payment, actor: User, tip: Decimal = ZERO) -> Payment:
    """The customer approves the finished work, optionally adding a tip (all of it to the tradesperson).

    ``awaiting_approval -> completing`` and ``payment.approved``; the ``payments`` consumer then
    charges the balance plus the tip. Approving again with the same tip returns the payment
    unchanged (a double click); approving after the window but before the clock ran is allowed.
    """
    _customer_only(payment, actor, "approve the work")
    tip = Decimal(tip or 0)
    if tip < 0:
        raise ServiceError(f"A tip can't be negative. Leave it at {format_money(0)} for no tip.", code="bad_tip", kind=Refusal.INVALID)
    if tip != tip.quantize(CENT):
        raise ServiceError("Enter the tip in pounds and pence, for example 10 or 7.50.", code="bad_tip", kind=Refusal.INVALID)
    with transaction.atomic():
        payment = _locked(payment)
        if payment.approved_at is not None and not payment.approved_automatically and payment.tip == tip:
            return payment
        if payment.status != Payment.Status.AWAITING_APPROVAL:
            raise _not_awaiting(payment)
        limit = tip_limit(payment)
        if tip > limit:
            raise ServiceError(f"The most you can tip on this job is {format_money(limit)}.", code="tip_too_large", kind=Refusal.INVALID)
        lifecycle.move(payment, Payment.Status.COMPLETING)
        payment.tip = tip
        payment.approved_at = timezone.now()
        payment.approved_automatically = False
        charge = payment.acceptance.total + tip
        _save(payment, [_job_event(ev.APPROVED, payment, charge, actor_id=actor.pk, tip=tip, automatically=False)])
    return payment


def payment_dispute(*, payment: Payment, actor: User, description: str) -> Dispute:
    """The customer reports a problem instead of approving (within the window). Emits ``payment.disputed``.

    ``awaiting_approval -> disputed``: nothing more is charged and the clock no longer approves it;
    staff resolve it with :func:`dispute_resolve`.
    """
    _customer_only(payment, actor, "report a problem with the work")
    text = redact_card_numbers((description or "").strip())
    if len(text) < DESCRIPTION_MIN:
        raise ServiceError(
            "Tell us what is wrong with the work, in a sentence or two, so our team can help.",
            code="description_required",
            kind=Refusal.INVALID,
        )
    if len(text) > DESCRIPTION_MAX:
        raise ServiceError(f"Please keep it under {DESCRIPTION_MAX} characters.", code="too_long", kind=Refusal.INVALID)
    with transaction.atomic():
        payment = _locked(payment)
        if payment.status != Payment.Status.AWAITING_APPROVAL:
            raise _not_awaiting(payment)
        if payment.approval_due_at is not None and timezone.now() > payment.approval_due_at:
            raise ServiceError(
                "The time to report a problem has ended, so the work counts as approved. "
                "If something is still wrong, contact support from the help page.",
                code="window_closed",
                kind=Refusal.CONFLICT,
            )
        dispute = Dispute.objects.create(payment=payment, job_id=payment.job_id, description=text, opened_by=actor)
        lifecycle.move(payment, Payment.Status.DISPUTED)
        _save(payment, [_job_event(ev.DISPUTED, payment, payment.acceptance.total, actor_id=actor.pk, dispute_id=dispute.pk)])
    return dispute


def payments_auto_approve(*, now: datetime | None = None) -> int:
    """Approve every payment whose sign-off window has ended without an answer (the clock). Returns how many.

    Each in its own short transaction, re-checked under the row lock, so a customer approving or
    disputing at the same moment wins cleanly. Emits ``payment.approved`` (automatically, no tip).
    """
    now = now or timezone.now()
    due = Payment.objects.filter(status=Payment.Status.AWAITING_APPROVAL, approval_due_at__lte=now).values_list("pk", flat=True)
    approved = 0
    for pk in list(due[:500]):
        with transaction.atomic():
            payment = Payment.objects.select_for_update().select_related("acceptance").get(pk=pk)
            if payment.status != Payment.Status.AWAITING_APPROVAL:
                continue
            lifecycle.move(payment, Payment.Status.COMPLETING)
            payment.approved_at = now
            payment.approved_automatically = True
            _save(payment, [_job_event(ev.APPROVED, payment, payment.acceptance.total, tip=ZERO, automatically=True)])
            approved += 1
    return approved


def dispute_resolve(*, dispute: Dispute, actor: User, outcome: str, amount: Decimal | None = None, note: str = "") -> Dispute:
    """Staff settle a dispute: release (charge in full), partial refund (charge ``amount`` less) or full refund (charge nothing).

    Sets ``Payment.reduction``; ``disputed -> completing`` and ``payment.dispute_resolved``, after
    which the ``payments`` consumer charges what is left (and releases the deposit hold if nothing is).
    """
    R = Dispute.Resolution
    if not actor.is_staff:
        raise ServiceError("Only staff can resolve a dispute.", code="forbidden", kind=Refusal.FORBIDDEN)
    if outcome not in R.values:
        raise ServiceError(
            "Choose how to resolve it: pay in full, refund part, or refund everything.", code="bad_outcome", kind=Refusal.INVALID
        )
    note = redact_card_numbers((note or "").strip())
    if len(note) > NOTE_MAX:
        raise ServiceError(f"Please keep the note under {NOTE_MAX} characters.", code="too_long", kind=Refusal.INVALID)
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        payment = _locked(dispute.payment)
        if dispute.status != Dispute.Status.OPEN or payment.status != Payment.Status.DISPUTED:
            raise ServiceError("This dispute has already been resolved.", code="already_resolved", kind=Refusal.CONFLICT)
        total = payment.acceptance.total
        if outcome == R.RELEASE:
            reduction = ZERO
        elif outcome == R.FULL_REFUND:
            reduction = total
        else:
            reduction = Decimal(amount or 0)
            if reduction != reduction.quantize(CENT) or not ZERO < reduction < total:
                raise ServiceError(
                    f"A partial refund must be more than {format_money(0)} and less than the price ({format_money(total)}); "
                    "to give everything back choose a full refund.",
                    code="bad_amount",
                    kind=Refusal.INVALID,
                )
        payment.reduction = reduction
        lifecycle.move(payment, Payment.Status.COMPLETING)
        dispute.status = Dispute.Status.RESOLVED
        dispute.resolution = outcome
        dispute.amount = reduction
        dispute.staff_note = note
        dispute.resolved_by = actor
        dispute.resolved_at = timezone.now()
        dispute.save()
        _save(
            payment,
            [_job_event(ev.DISPUTE_RESOLVED, payment, reduction, actor_id=actor.pk, dispute_id=dispute.pk, resolution=outcome, note=note)],
        )
    return dispute
