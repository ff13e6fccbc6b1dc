"""The payment state machine (payments/lifecycle.py): every status has its row, illegal steps are refused."""

from __future__ import annotations

import pytest

from marketplace.api_errors import status_for
from payments.lifecycle import SETTLED, TRANSITIONS, IllegalPaymentStep, can_move, move
from payments.models import Payment

S = Payment.Status


def test_every_status_has_a_row_and_only_refunded_is_final() -> None:
    assert set(TRANSITIONS) == set(S.values)
    assert [status for status, allowed in TRANSITIONS.items() if not allowed] == [S.REFUNDED]
    assert all(set(allowed) <= set(S.values) for allowed in TRANSITIONS.values())


def test_money_flows_forward_only() -> None:
    assert can_move(S.DEPOSIT_HELD, S.PAID) and can_move(S.BALANCE_FAILED, S.PAID)
    assert can_move(S.PAID, S.PARTIALLY_REFUNDED) and can_move(S.PARTIALLY_REFUNDED, S.REFUNDED)
    assert can_move(S.CANCELLED, S.REFUNDED)  # a cancellation fee given back
    assert not can_move(S.PAID, S.DEPOSIT_HELD)
    assert not can_move(S.REFUNDED, S.PAID)
    assert not can_move(S.CANCELLED, S.PAID)
    assert not can_move(S.DEPOSIT_HELD, S.REFUNDED)  # nothing was taken yet


def test_sign_off_comes_between_completion_and_the_charge() -> None:
    assert can_move(S.DEPOSIT_HELD, S.AWAITING_APPROVAL)
    assert can_move(S.AWAITING_APPROVAL, S.COMPLETING) and can_move(S.AWAITING_APPROVAL, S.DISPUTED)
    assert can_move(S.DISPUTED, S.COMPLETING)
    assert {S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED} <= TRANSITIONS[S.COMPLETING]
    assert not can_move(S.AWAITING_APPROVAL, S.PAID)  # only through an approval or a resolution
    assert not can_move(S.DISPUTED, S.AWAITING_APPROVAL) and not can_move(S.DISPUTED, S.PAID)


def test_an_illegal_step_is_refused_and_changes_nothing() -> None:
    payment = Payment(status=S.REFUNDED)
    with pytest.raises(IllegalPaymentStep) as refused:
        move(payment, S.PAID)
    assert payment.status == S.REFUNDED
    assert refused.value.code == "illegal_transition" and status_for(refused.value) == 409
    assert refused.value.message == "A payment that is refunded cannot become paid."
    move(payment := Payment(status=S.DEPOSIT_HELD), S.PAID)
    assert payment.status == S.PAID


def test_settled_statuses_are_the_ones_nothing_moves_on_its_own() -> None:
    assert {S.PAID, S.CANCELLED, S.PARTIALLY_REFUNDED, S.REFUNDED} == SETTLED
    assert not SETTLED & {S.DEPOSIT_HELD, S.AWAITING_APPROVAL, S.DISPUTED, S.COMPLETING, S.BALANCE_FAILED, S.CANCELLING}
