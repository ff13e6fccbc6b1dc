"""The payment state machine and ledger: the transition table, every refusal, and properties over random histories.

Pure: no database, no Django models.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from payments.simulated_ledger import (
    EVENTS,
    FINAL_STATES,
    INITIAL_STATE,
    STATES,
    TRANSITIONS,
    IllegalPaymentTransition,
    PaymentAmountError,
    PaymentEvent,
    PaymentLedger,
    PaymentState,
    apply,
    payment_amount,
)

D = Decimal
PROPERTY = settings(max_examples=300, deadline=None, database=None)

# The machine as the product describes it, written out independently of the module's table.
EXPECTED: dict[tuple[PaymentState, PaymentEvent], PaymentState] = {
    ("requires_authorization", "authorize_ok"): "authorized",
    ("requires_authorization", "authorize_declined"): "failed",
    ("authorized", "capture"): "captured",
    ("authorized", "void"): "voided",
    ("captured", "refund_partial"): "partially_refunded",
    ("captured", "refund_full"): "refunded",
    ("partially_refunded", "refund_partial"): "partially_refunded",
    ("partially_refunded", "refund_full"): "refunded",
}
ILLEGAL = [(state, event) for state in STATES for event in EVENTS if (state, event) not in EXPECTED]


# --- the transition table ------------------------------------------------------------------


def test_states_and_events_are_the_documented_ones() -> None:
    assert set(STATES) == {"requires_authorization", "authorized", "captured", "partially_refunded", "refunded", "voided", "failed"}
    assert set(EVENTS) == {"authorize_ok", "authorize_declined", "capture", "refund_partial", "refund_full", "void"}
    assert INITIAL_STATE == "requires_authorization"
    assert set(TRANSITIONS) == set(STATES)


def test_the_table_is_exactly_the_expected_machine() -> None:
    table = {(state, event): target for state, events in TRANSITIONS.items() for event, target in events.items()}
    assert table == EXPECTED


@pytest.mark.parametrize(("state", "event"), list(EXPECTED))
def test_legal_transitions(state: PaymentState, event: PaymentEvent) -> None:
    assert apply(state, event) == EXPECTED[state, event]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_transitions_raise_a_readable_error(state: PaymentState, event: PaymentEvent) -> None:
    with pytest.raises(IllegalPaymentTransition) as caught:
        apply(state, event)

    assert caught.value.state == state
    assert caught.value.event == event
    message = str(caught.value)
    assert f"A payment that is {state} cannot take the event {event}" in message
    allowed = [e for (s, e) in EXPECTED if s == state]
    assert all(e in message for e in allowed)
    if not allowed:
        assert "nothing (it is final)" in message


def test_the_message_for_refunding_an_uncaptured_payment() -> None:
    with pytest.raises(
        IllegalPaymentTransition,
        match=r"^A payment that is authorized cannot take the event refund_full; from authorized it can take: capture, void\.$",
    ):
        apply("authorized", "refund_full")


def test_final_states_take_no_events_and_every_state_is_reachable() -> None:
    assert sorted(FINAL_STATES) == ["failed", "refunded", "voided"]
    reachable, frontier = {INITIAL_STATE}, [INITIAL_STATE]
    while frontier:
        for target in TRANSITIONS[frontier.pop()].values():
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(STATES)


def test_unknown_names_are_value_errors_not_transitions() -> None:
    with pytest.raises(ValueError, match="not a payment state"):
        apply("pending", "capture")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a payment event"):
        apply("authorized", "refund")  # type: ignore[arg-type]


# --- amounts -------------------------------------------------------------------------------


def test_payment_amount_normalises_to_two_places() -> None:
    for value in (D("10"), D("10.5"), D("10.50"), D("1E+1")):
        amount = payment_amount(value)
        assert amount == value
        assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize("value", [10.5, 10, "10.00", None, True])
def test_payment_amount_refuses_non_decimals(value: object) -> None:
    with pytest.raises(TypeError):
        payment_amount(value)


def test_a_float_is_refused_with_advice() -> None:
    with pytest.raises(TypeError, match=r"amount is a float \(0\.1\).*Decimal\('0\.1'\)"):
        payment_amount(0.1)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (D("0"), "not_positive"),
        (D("0.00"), "not_positive"),
        (D("-1.00"), "not_positive"),
        (D("10.001"), "sub_penny"),
        (D("0.005"), "sub_penny"),
        (D("NaN"), "not_finite"),
        (D("Infinity"), "not_finite"),
        (D("1E+13"), "too_large"),
    ],
)
def test_payment_amount_refusals(value: Decimal, code: str) -> None:
    with pytest.raises(PaymentAmountError) as caught:
        payment_amount(value)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


# --- the ledger ----------------------------------------------------------------------------


def test_deposit_authorised_captured_then_refunded_in_two_parts() -> None:
    ledger = PaymentLedger()
    assert (ledger.state, ledger.authorized, ledger.captured, ledger.refunded) == ("requires_authorization", D("0"), D("0"), D("0"))

    ledger = ledger.authorize(D("50"))
    assert (ledger.state, ledger.authorized) == ("authorized", D("50.00"))
    ledger = ledger.capture(D("40.00"))  # partial capture: 10.00 of the hold is released
    assert (ledger.state, ledger.captured, ledger.refundable) == ("captured", D("40.00"), D("40.00"))
    ledger = ledger.refund(D("15.50"))
    assert (ledger.state, ledger.refunded, ledger.refundable) == ("partially_refunded", D("15.50"), D("24.50"))
    ledger = ledger.refund(D("24.50"))
    assert (ledger.state, ledger.refunded, ledger.refundable) == ("refunded", D("40.00"), D("0.00"))
    assert all(getattr(ledger, name).as_tuple().exponent == -2 for name in ("authorized", "captured", "refunded"))


def test_a_refund_of_everything_at_once_is_full() -> None:
    ledger = PaymentLedger().authorize(D("20.00")).capture(D("20.00")).refund(D("20.00"))
    assert ledger.state == "refunded"


def test_decline_and_void() -> None:
    assert PaymentLedger().decline() == PaymentLedger("failed")
    voided = PaymentLedger().authorize(D("30.00")).void()
    assert (voided.state, voided.authorized, voided.captured) == ("voided", D("30.00"), D("0.00"))


def test_capture_at_most_the_authorised_amount_and_only_once() -> None:
    authorized = PaymentLedger().authorize(D("50.00"))
    with pytest.raises(PaymentAmountError, match=r"Cannot capture 50\.01: only 50\.00 was authorised") as caught:
        authorized.capture(D("50.01"))
    assert caught.value.code == "exceeds_authorized"

    captured = authorized.capture(D("10.00"))
    with pytest.raises(IllegalPaymentTransition):
        captured.capture(D("10.00"))


def test_refunds_total_at_most_what_was_captured() -> None:
    ledger = PaymentLedger().authorize(D("50.00")).capture(D("30.00")).refund(D("10.00"))
    with pytest.raises(PaymentAmountError, match=r"at most 20\.00") as caught:
        ledger.refund(D("20.01"))
    assert caught.value.code == "exceeds_refundable"

    refunded = ledger.refund(D("20.00"))
    with pytest.raises(IllegalPaymentTransition):
        refunded.refund(D("0.01"))


@pytest.mark.parametrize(
    ("ledger", "act"),
    [
        (PaymentLedger(), lambda ledger: ledger.capture(D("1.00"))),
        (PaymentLedger(), lambda ledger: ledger.refund(D("1.00"))),
        (PaymentLedger(), lambda ledger: ledger.void()),
        (PaymentLedger().authorize(D("5.00")), lambda ledger: ledger.refund(D("1.00"))),
        (PaymentLedger().authorize(D("5.00")), lambda ledger: ledger.authorize(D("5.00"))),
        (PaymentLedger().authorize(D("5.00")).capture(D("5.00")), lambda ledger: ledger.void()),
        (PaymentLedger().authorize(D("5.00")).void(), lambda ledger: ledger.capture(D("5.00"))),
        (PaymentLedger().decline(), lambda ledger: ledger.authorize(D("5.00"))),
    ],
)
def test_events_the_state_does_not_allow(ledger: PaymentLedger, act: Callable[[PaymentLedger], PaymentLedger]) -> None:
    before = PaymentLedger(ledger.state, ledger.authorized, ledger.captured, ledger.refunded)
    with pytest.raises(IllegalPaymentTransition):
        act(ledger)
    assert ledger == before


def test_the_state_is_checked_before_the_amount() -> None:
    # Refunding before capture is the wrong event, whatever the amount.
    with pytest.raises(IllegalPaymentTransition):
        PaymentLedger().authorize(D("5.00")).refund(D("999.00"))


def test_ledger_methods_refuse_bad_amounts() -> None:
    authorized = PaymentLedger().authorize(D("5.00"))
    with pytest.raises(TypeError):
        authorized.capture(5.0)  # type: ignore[arg-type]
    with pytest.raises(PaymentAmountError):
        authorized.capture(D("-1.00"))
    with pytest.raises(PaymentAmountError):
        PaymentLedger().authorize(D("0.001"))


def test_a_ledger_is_immutable() -> None:
    ledger = PaymentLedger()
    with pytest.raises(AttributeError):
        ledger.state = "authorized"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("state", "authorized", "captured", "refunded"),
    [
        ("requires_authorization", "1.00", "0", "0"),
        ("failed", "0", "1.00", "0"),
        ("authorized", "0", "0", "0"),
        ("authorized", "5.00", "1.00", "0"),
        ("voided", "5.00", "5.00", "0"),
        ("captured", "5.00", "6.00", "0"),
        ("captured", "5.00", "5.00", "1.00"),
        ("partially_refunded", "5.00", "5.00", "5.00"),
        ("partially_refunded", "5.00", "5.00", "0"),
        ("refunded", "5.00", "5.00", "4.00"),
        ("refunded", "0", "0", "0"),
    ],
)
def test_stored_figures_must_agree_with_the_state(state: PaymentState, authorized: str, captured: str, refunded: str) -> None:
    with pytest.raises(PaymentAmountError) as caught:
        PaymentLedger(state, D(authorized), D(captured), D(refunded))
    assert caught.value.code == "inconsistent"


def test_stored_figures_that_agree_are_loaded_with_two_places() -> None:
    ledger = PaymentLedger("partially_refunded", D("50"), D("40.0"), D("15.5"))
    assert (ledger.authorized, ledger.captured, ledger.refunded, ledger.refundable) == (D("50.00"), D("40.00"), D("15.50"), D("24.50"))
    assert str(ledger.refunded) == "15.50"
    with pytest.raises(PaymentAmountError):
        PaymentLedger("captured", D("5.00"), D("-1.00"))
    with pytest.raises(TypeError):
        PaymentLedger("authorized", 5.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a payment state"):
        PaymentLedger("pending")  # type: ignore[arg-type]


def test_a_callers_decimal_context_cannot_change_a_sum() -> None:
    ledger = PaymentLedger().authorize(D("123456.78")).capture(D("123456.78"))
    with localcontext() as context:
        context.prec = 3  # 1000.00 + 0.01 would be 1.00E+3 here
        ledger = ledger.refund(D("1000.00")).refund(D("0.01"))
        assert ledger.refundable == D("122456.77")
    assert ledger.refunded == D("1000.01")


# --- properties over random histories ------------------------------------------------------

OPERATIONS = ("authorize", "decline", "capture", "refund", "void")
# "rest" is what is left to capture or refund, so full captures and full refunds happen often.
AMOUNTS = st.one_of(st.decimals(min_value=D("0.01"), max_value=D("100.00"), places=2), st.just("rest"))


def _check_invariants(ledger: PaymentLedger) -> None:
    assert D(0) <= ledger.refunded <= ledger.captured <= ledger.authorized
    assert all(getattr(ledger, name).as_tuple().exponent == -2 for name in ("authorized", "captured", "refunded"))
    assert (ledger.state == "refunded") == (ledger.refunded == ledger.captured > 0)
    assert (ledger.state == "partially_refunded") == (0 < ledger.refunded < ledger.captured)
    assert (ledger.state in {"requires_authorization", "failed"}) == (ledger.authorized == 0)
    assert (ledger.captured > 0) == (ledger.state in {"captured", "partially_refunded", "refunded"})


def _step(ledger: PaymentLedger, operation: str, amount: Decimal | str) -> tuple[PaymentEvent, Decimal, Decimal, PaymentLedger]:
    """Do ``operation``; return its event, the amount used, the most it could be, and the new ledger (or raise)."""
    if operation == "authorize":
        value = D("75.00") if amount == "rest" else D(amount)
        return "authorize_ok", value, value, ledger.authorize(value)
    if operation == "decline":
        return "authorize_declined", D(0), D(0), ledger.decline()
    if operation == "void":
        return "void", D(0), D(0), ledger.void()
    limit = ledger.authorized if operation == "capture" else ledger.refundable
    value = (limit if limit > 0 else D("0.01")) if amount == "rest" else D(amount)
    if operation == "capture":
        return "capture", value, limit, ledger.capture(value)
    event: PaymentEvent = "refund_full" if value == limit else "refund_partial"
    return event, value, limit, ledger.refund(value)


@PROPERTY
@given(history=st.lists(st.tuples(st.sampled_from(OPERATIONS), AMOUNTS), max_size=25))
def test_random_histories_keep_the_ledger_consistent(history: list[tuple[str, Decimal | str]]) -> None:
    ledger = PaymentLedger()
    for operation, amount in history:
        before = ledger
        try:
            event, value, limit, ledger = _step(ledger, operation, amount)
        except IllegalPaymentTransition as exc:
            # Illegal exactly when the table has no such event from this state; nothing changed.
            events = ("refund_partial", "refund_full") if operation == "refund" else (exc.event,)
            assert all(event not in TRANSITIONS[before.state] for event in events)
            assert ledger is before
        except PaymentAmountError as exc:
            # The event was allowed, but the amount was more than the ledger holds.
            assert exc.code in {"exceeds_authorized", "exceeds_refundable"}
            assert operation in {"capture", "refund"}
            assert ledger is before
        else:
            assert ledger.state == EXPECTED[before.state, event]
            if operation == "capture":
                assert value <= limit
                assert ledger.captured == value
            if operation == "refund":
                assert value <= limit
                assert ledger.refunded == before.refunded + value
        _check_invariants(ledger)


class PaymentMachine(RuleBasedStateMachine):
    """The ledger against a model in whole pence with its own bookkeeping (no transition table)."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = PaymentLedger()
        self.authorized = self.captured = self.refunded = 0  # pence
        self.outcome = "open"  # open, declined, voided

    def _attempt(self, act: Callable[[PaymentLedger], PaymentLedger], allowed: bool, within_limit: bool = True) -> bool:
        before = self.ledger
        if not allowed:
            with pytest.raises(IllegalPaymentTransition):
                act(self.ledger)
        elif not within_limit:
            with pytest.raises(PaymentAmountError):
                act(self.ledger)
        else:
            self.ledger = act(self.ledger)
            return True
        assert self.ledger is before
        return False

    def _pristine(self) -> bool:
        return self.outcome == "open" and self.authorized == 0

    @rule(pence=st.integers(min_value=1, max_value=10_000))
    def authorize(self, pence: int) -> None:
        if self._attempt(lambda ledger: ledger.authorize(D(pence) / 100), allowed=self._pristine()):
            self.authorized = pence

    @rule()
    def decline(self) -> None:
        if self._attempt(lambda ledger: ledger.decline(), allowed=self._pristine()):
            self.outcome = "declined"

    @rule(pence=st.integers(min_value=1, max_value=10_000))
    def capture(self, pence: int) -> None:
        allowed = self.outcome == "open" and self.authorized > 0 and self.captured == 0
        if self._attempt(lambda ledger: ledger.capture(D(pence) / 100), allowed, pence <= self.authorized):
            self.captured = pence

    @rule()
    def capture_all(self) -> None:
        self.capture(max(self.authorized, 1))

    @rule(pence=st.integers(min_value=1, max_value=10_000))
    def refund(self, pence: int) -> None:
        allowed = self.captured > self.refunded
        if self._attempt(lambda ledger: ledger.refund(D(pence) / 100), allowed, pence <= self.captured - self.refunded):
            self.refunded += pence

    @rule()
    def refund_the_rest(self) -> None:
        self.refund(max(self.captured - self.refunded, 1))

    @rule()
    def void(self) -> None:
        allowed = self.outcome == "open" and self.authorized > 0 and self.captured == 0
        if self._attempt(lambda ledger: ledger.void(), allowed):
            self.outcome = "voided"

    def _model_state(self) -> str:
        if self.outcome != "open":
            return {"declined": "failed", "voided": "voided"}[self.outcome]
        if self.refunded:
            return "refunded" if self.refunded == self.captured else "partially_refunded"
        if self.captured:
            return "captured"
        return "authorized" if self.authorized else "requires_authorization"

    @invariant()
    def matches_the_model(self) -> None:
        ledger = self.ledger
        assert (ledger.authorized, ledger.captured, ledger.refunded) == (
            D(self.authorized) / 100,
            D(self.captured) / 100,
            D(self.refunded) / 100,
        )
        assert ledger.state == self._model_state()
        _check_invariants(ledger)


PaymentMachine.TestCase.settings = settings(max_examples=300, deadline=None, database=None, stateful_step_count=30)
TestPaymentMachine = PaymentMachine.TestCase
