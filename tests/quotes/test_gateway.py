"""The gateway boundary: the simulated gateway's tokens and rules, idempotency, card-number refusal, webhooks, card scanning.

Pure: no database, no Django models.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.cards import luhn_like_numbers, redact_card_numbers
from payments.gateway import CARD_NUMBER_REFUSED, GatewayRequestError, GatewayResult, GatewayUnavailable, PaymentGateway
from payments.simulator import SimulatedGateway
from payments.webhooks import WebhookRejected, sign_webhook, verify_webhook

D = Decimal
NOW = 1_700_000_000
SECRET = "whsec_test_only"
FIFTY = D("50.00")
PROPERTY = settings(max_examples=300, deadline=None, database=None)


@pytest.fixture
def gateway() -> SimulatedGateway:
    return SimulatedGateway(webhook_secret=SECRET, clock=lambda: NOW)


def authorize(
    gateway: PaymentGateway, *, token: str = "tok_visa", amount: Decimal = FIFTY, key: str = "auth-1", currency: str = "GBP"
) -> GatewayResult:
    return gateway.authorize(token=token, amount=amount, currency=currency, idempotency_key=key, reference="payment-1")


def captured(gateway: SimulatedGateway, amount: Decimal = FIFTY) -> GatewayResult:
    authorization = authorize(gateway)
    return gateway.capture(authorization_id=authorization.gateway_id, amount=amount, idempotency_key="capture-1")


def refused(code: str, act: Callable[[], object]) -> GatewayRequestError:
    with pytest.raises(GatewayRequestError) as caught:
        act()
    assert caught.value.code == code, str(caught.value)
    assert isinstance(caught.value, ValueError)
    return caught.value


# --- the interface -------------------------------------------------------------------------


def test_the_simulated_gateway_is_clearly_named_and_fits_the_interface() -> None:
    gateway: PaymentGateway = SimulatedGateway()  # mypy checks the Protocol
    assert gateway.name == "simulated"
    assert "SIMULATED: no real money moves" in (SimulatedGateway.__doc__ or "")
    assert len(SimulatedGateway().webhook_secret) == 64  # random when not given
    assert SimulatedGateway().webhook_secret != SimulatedGateway().webhook_secret


def test_a_result_agrees_with_its_status() -> None:
    with pytest.raises(ValueError, match="ok=False"):
        GatewayResult(True, "declined", "x", D("1.00"), "card_declined", False)
    with pytest.raises(ValueError, match="retryable=True"):
        GatewayResult(False, "retry", "x", D("1.00"), "try later", False)
    assert GatewayResult(False, "retry", "x", D("1.00"), "try later", True).retryable


# --- tokens --------------------------------------------------------------------------------


def test_tok_visa_is_authorised(gateway: SimulatedGateway) -> None:
    result = authorize(gateway, amount=D("50"))

    assert result == GatewayResult(True, "authorized", "sim_auth_000001", D("50.00"), "Authorised 50.00 GBP.", False)
    assert str(result.amount) == "50.00"
    assert gateway.actions == (result,)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_decline", "card_declined"),
        ("tok_insufficient_funds", "insufficient_funds"),
        ("tok_mastercard", "unknown_token"),
        ("tok_", "unknown_token"),
        ("anything_else", "unknown_token"),
    ],
)
def test_declines_are_results_not_exceptions(gateway: SimulatedGateway, token: str, code: str) -> None:
    result = authorize(gateway, token=token)

    assert result == GatewayResult(False, "declined", "sim_auth_000001", D("50.00"), code, False)
    assert token not in result.message or token == code
    # A declined authorization holds nothing: there is nothing to capture or void.
    refused("not_allowed", lambda: gateway.capture(authorization_id=result.gateway_id, amount=D("1.00"), idempotency_key="c"))
    refused("not_allowed", lambda: gateway.void(authorization_id=result.gateway_id, idempotency_key="v"))


def test_tok_retry_times_out_once_per_key_then_succeeds(gateway: SimulatedGateway) -> None:
    with pytest.raises(GatewayUnavailable, match="retry with the same idempotency key"):
        authorize(gateway, token="tok_retry", key="k1")
    assert gateway.actions == ()

    result = authorize(gateway, token="tok_retry", key="k1")
    assert (result.ok, result.status, result.gateway_id) == (True, "authorized", "sim_auth_000001")
    assert authorize(gateway, token="tok_retry", key="k1") == result  # a replay, not a third attempt

    with pytest.raises(GatewayUnavailable):
        authorize(gateway, token="tok_retry", key="k2")
    assert len(gateway.actions) == 1


def test_an_outage_acts_on_nothing_and_the_retry_acts_once(gateway: SimulatedGateway) -> None:
    authorization = authorize(gateway)
    gateway.fail_next(2)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            gateway.capture(authorization_id=authorization.gateway_id, amount=D("50.00"), idempotency_key="cap")

    capture = gateway.capture(authorization_id=authorization.gateway_id, amount=D("50.00"), idempotency_key="cap")
    assert capture.status == "captured"
    assert [action.status for action in gateway.actions] == ["authorized", "captured"]
    with pytest.raises(ValueError, match="whole number"):
        gateway.fail_next(-1)


# --- idempotency ---------------------------------------------------------------------------


def test_replays_return_the_first_result_and_act_once(gateway: SimulatedGateway) -> None:
    first = authorize(gateway)
    assert authorize(gateway) == first
    assert authorize(gateway, amount=D("50")) == first  # 50 and 50.00 are the same amount

    capture = gateway.capture(authorization_id=first.gateway_id, amount=D("40.00"), idempotency_key="cap")
    assert gateway.capture(authorization_id=first.gateway_id, amount=D("40.00"), idempotency_key="cap") == capture

    refund = gateway.refund(charge_id=capture.gateway_id, amount=D("15.00"), idempotency_key="ref")
    assert gateway.refund(charge_id=capture.gateway_id, amount=D("15.00"), idempotency_key="ref") == refund
    # Refunded once: 25.00 is still refundable, and no more.
    refused("bad_amount", lambda: gateway.refund(charge_id=capture.gateway_id, amount=D("25.01"), idempotency_key="ref-2"))
    assert gateway.refund(charge_id=capture.gateway_id, amount=D("25.00"), idempotency_key="ref-3").ok

    other = authorize(gateway, key="auth-2")
    void = gateway.void(authorization_id=other.gateway_id, idempotency_key="void")
    assert gateway.void(authorization_id=other.gateway_id, idempotency_key="void") == void

    assert [action.status for action in gateway.actions] == ["authorized", "captured", "refunded", "refunded", "authorized", "voided"]


def test_a_replayed_decline_is_the_same_decline(gateway: SimulatedGateway) -> None:
    first = authorize(gateway, token="tok_decline")
    assert authorize(gateway, token="tok_decline") == first
    assert len(gateway.actions) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": D("50.01")},
        {"token": "tok_decline"},
        {"currency": "EUR"},
    ],
)
def test_the_same_key_with_other_parameters_is_refused(gateway: SimulatedGateway, change: dict[str, Any]) -> None:
    first = authorize(gateway)
    error = refused("idempotency_key_reused", lambda: authorize(gateway, **change))
    assert "auth-1" not in str(error)
    assert gateway.actions == (first,)


def test_the_same_key_for_another_operation_is_refused(gateway: SimulatedGateway) -> None:
    first = authorize(gateway)
    refused(
        "idempotency_key_reused",
        lambda: gateway.capture(authorization_id=first.gateway_id, amount=D("50.00"), idempotency_key="auth-1"),
    )
    refused("idempotency_key_reused", lambda: gateway.void(authorization_id=first.gateway_id, idempotency_key="auth-1"))
    with pytest.raises(ValueError):
        gateway.authorize(token="tok_visa", amount=D("50.00"), currency="GBP", idempotency_key="auth-1", reference="payment-2")


def test_a_refused_request_does_not_use_up_its_key(gateway: SimulatedGateway) -> None:
    authorization = authorize(gateway)
    refused("bad_amount", lambda: gateway.capture(authorization_id=authorization.gateway_id, amount=D("60.00"), idempotency_key="c"))
    assert gateway.capture(authorization_id=authorization.gateway_id, amount=D("50.00"), idempotency_key="c").ok


# --- capture, refund and void rules --------------------------------------------------------


def test_capture_at_most_the_authorised_amount(gateway: SimulatedGateway) -> None:
    authorization = authorize(gateway)
    error = refused(
        "bad_amount", lambda: gateway.capture(authorization_id=authorization.gateway_id, amount=D("50.01"), idempotency_key="c")
    )
    assert "only 50.00 was authorised" in str(error)

    capture = gateway.capture(authorization_id=authorization.gateway_id, amount=D("50.00"), idempotency_key="c2")
    assert capture == GatewayResult(True, "captured", "sim_ch_000002", D("50.00"), "Captured 50.00 GBP.", False)


def test_a_partial_capture_is_allowed_once(gateway: SimulatedGateway) -> None:
    authorization = authorize(gateway)
    capture = gateway.capture(authorization_id=authorization.gateway_id, amount=D("30.00"), idempotency_key="c1")
    assert (capture.ok, capture.amount) == (True, D("30.00"))

    error = refused(
        "not_allowed", lambda: gateway.capture(authorization_id=authorization.gateway_id, amount=D("20.00"), idempotency_key="c2")
    )
    assert "captured cannot take the event capture" in str(error)
    # What may be refunded is what was captured, not what was authorised.
    refused("bad_amount", lambda: gateway.refund(charge_id=capture.gateway_id, amount=D("30.01"), idempotency_key="r"))


def test_unknown_ids_are_refused_without_repeating_them(gateway: SimulatedGateway) -> None:
    error = refused("unknown_authorization", lambda: gateway.capture(authorization_id="auth_nope", amount=D("1.00"), idempotency_key="c"))
    assert "auth_nope" not in str(error)
    refused("unknown_authorization", lambda: gateway.void(authorization_id="auth_nope", idempotency_key="v"))
    authorization = authorize(gateway)
    # An authorization id is not a charge id.
    refused("unknown_charge", lambda: gateway.refund(charge_id=authorization.gateway_id, amount=D("1.00"), idempotency_key="r"))


def test_refunds_may_repeat_up_to_what_was_captured(gateway: SimulatedGateway) -> None:
    charge = captured(gateway, D("40.00"))
    first = gateway.refund(charge_id=charge.gateway_id, amount=D("10.00"), idempotency_key="r1")
    assert first == GatewayResult(True, "refunded", "sim_re_000003", D("10.00"), "Refunded 10.00 GBP; 30.00 left to refund.", False)
    refused("bad_amount", lambda: gateway.refund(charge_id=charge.gateway_id, amount=D("30.01"), idempotency_key="r2"))
    assert gateway.refund(charge_id=charge.gateway_id, amount=D("29.99"), idempotency_key="r3").ok
    assert gateway.refund(charge_id=charge.gateway_id, amount=D("0.01"), idempotency_key="r4").ok
    # Fully refunded: nothing more, not even a penny.
    refused("not_allowed", lambda: gateway.refund(charge_id=charge.gateway_id, amount=D("0.01"), idempotency_key="r5"))


def test_void_only_an_uncaptured_authorization(gateway: SimulatedGateway) -> None:
    held = authorize(gateway, key="a1")
    void = gateway.void(authorization_id=held.gateway_id, idempotency_key="v1")
    assert void == GatewayResult(True, "voided", held.gateway_id, D("50.00"), "Released 50.00 GBP.", False)
    refused("not_allowed", lambda: gateway.void(authorization_id=held.gateway_id, idempotency_key="v2"))
    refused("not_allowed", lambda: gateway.capture(authorization_id=held.gateway_id, amount=D("1.00"), idempotency_key="c1"))

    taken = authorize(gateway, key="a2")
    gateway.capture(authorization_id=taken.gateway_id, amount=D("1.00"), idempotency_key="c2")
    refused("not_allowed", lambda: gateway.void(authorization_id=taken.gateway_id, idempotency_key="v3"))


# --- amounts and other inputs --------------------------------------------------------------

OPERATIONS: dict[str, Callable[[SimulatedGateway, Any], object]] = {
    "authorize": lambda gateway, amount: authorize(gateway, amount=amount, key="a-bad"),
    "capture": lambda gateway, amount: gateway.capture(authorization_id="sim_auth_000001", amount=amount, idempotency_key="c-bad"),
    "refund": lambda gateway, amount: gateway.refund(charge_id="sim_ch_000002", amount=amount, idempotency_key="r-bad"),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("amount", [10.0, 10, "10.00", None])
def test_amounts_must_be_decimals(gateway: SimulatedGateway, operation: str, amount: object) -> None:
    captured(gateway)
    with pytest.raises(TypeError):
        OPERATIONS[operation](gateway, amount)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("amount", [D("0"), D("0.00"), D("-5.00"), D("10.001"), D("NaN"), D("Infinity")])
def test_amounts_must_be_positive_pounds_and_pence(gateway: SimulatedGateway, operation: str, amount: Decimal) -> None:
    captured(gateway)
    refused("bad_amount", lambda: OPERATIONS[operation](gateway, amount))
    assert len(gateway.actions) == 2


def test_a_float_is_refused_with_advice(gateway: SimulatedGateway) -> None:
    with pytest.raises(TypeError, match=r"float.*Pass a Decimal"):
        authorize(gateway, amount=10.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["gbp", "GB", "POUNDS", ""])
def test_currency_is_an_iso_code_in_capitals(gateway: SimulatedGateway, currency: str) -> None:
    refused("bad_argument", lambda: authorize(gateway, currency=currency))


def test_other_bad_arguments(gateway: SimulatedGateway) -> None:
    refused("bad_argument", lambda: authorize(gateway, key=""))
    refused("bad_argument", lambda: authorize(gateway, key="k" * 256))
    refused("bad_argument", lambda: authorize(gateway, token="tok visa"))
    refused(
        "bad_argument", lambda: gateway.authorize(token="tok_visa", amount=D("1.00"), currency="GBP", idempotency_key="k", reference="")
    )
    with pytest.raises(TypeError):
        authorize(gateway, token=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gateway.void(authorization_id=1, idempotency_key="v")  # type: ignore[arg-type]
    assert gateway.actions == ()


# --- card numbers are refused --------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line from anywhere while the test runs (the pytest logging plugin may be off)."""
    handler, root = _Records(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize(
    "card_number",
    [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4000-0566-5566-5556",
        "4242424242424241",  # fails Luhn: still a card-shaped number, still refused
        "378282246310005",  # 15 digits (Amex)
        "4222222222222",  # 13 digits
        "6011 0009 9013 9424 123",  # 19 digits
        "tok_4242424242424242",  # a card number dressed as a token
    ],
)
def test_a_card_number_is_refused_and_never_repeated(gateway: SimulatedGateway, log_lines: list[str], card_number: str) -> None:
    digits = re.sub(r"[^0-9]", "", card_number)
    with pytest.raises(ValueError, match=f"^{CARD_NUMBER_REFUSED}$") as caught:
        authorize(gateway, token=card_number)

    error = caught.value
    assert isinstance(error, GatewayRequestError)
    assert error.code == "card_number_sent"
    for text in (str(error), repr(error), repr(error.args)):
        assert digits not in re.sub(r"[^0-9]", "", text)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert gateway.actions == ()
    assert digits not in re.sub(r"[^0-9]", "", repr(vars(gateway)))
    assert not any(digits in re.sub(r"[^0-9]", "", line) for line in log_lines)


def test_short_digit_runs_in_a_token_are_fine(gateway: SimulatedGateway) -> None:
    assert authorize(gateway, token="tok_123456789012").message == "unknown_token"  # 12 digits: not a card number


# --- webhooks ------------------------------------------------------------------------------

EVENT = {"id": "evt_1", "type": "payment.captured", "created": NOW, "data": {"charge": "sim_ch_000002", "amount": 40.5}}
PAYLOAD = json.dumps(EVENT).encode()


def test_sign_then_verify_round_trip() -> None:
    header = sign_webhook(PAYLOAD, SECRET, NOW)

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + PAYLOAD, hashlib.sha256).hexdigest()
    assert header == f"t={NOW},v1={expected}"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    event = verify_webhook(PAYLOAD, header, SECRET, now=NOW)
    assert event == {**EVENT, "data": {"charge": "sim_ch_000002", "amount": D("40.5")}}
    assert isinstance(event["data"]["amount"], Decimal)  # money never passes through a float


def rejected(code: str, payload: bytes, header: str, *, now: int = NOW, secret: str = SECRET, tolerance_s: int = 300) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify_webhook(payload, header, secret, now=now, tolerance_s=tolerance_s)
    assert caught.value.code == code, str(caught.value)


def test_a_tampered_payload_is_rejected() -> None:
    header = sign_webhook(PAYLOAD, SECRET, NOW)
    rejected("bad_signature", PAYLOAD.replace(b"40.5", b"4050"), header)
    rejected("bad_signature", PAYLOAD + b" ", header)


def test_a_wrong_secret_is_rejected() -> None:
    rejected("bad_signature", PAYLOAD, sign_webhook(PAYLOAD, "whsec_someone_else", NOW))
    rejected("bad_signature", PAYLOAD, sign_webhook(PAYLOAD, SECRET, NOW), secret=SECRET + "x")


def test_a_tampered_timestamp_is_rejected() -> None:
    signature = sign_webhook(PAYLOAD, SECRET, NOW - 1000).split(",")[1]
    rejected("bad_signature", PAYLOAD, f"t={NOW},{signature}")


def test_the_replay_window() -> None:
    old = sign_webhook(PAYLOAD, SECRET, NOW - 301)
    rejected("too_old", PAYLOAD, old)
    rejected("too_old", PAYLOAD, sign_webhook(PAYLOAD, SECRET, NOW - 61), tolerance_s=60)
    future = sign_webhook(PAYLOAD, SECRET, NOW + 301)
    rejected("from_the_future", PAYLOAD, future)
    # At the edges of the window, both ways, it is accepted.
    assert verify_webhook(PAYLOAD, sign_webhook(PAYLOAD, SECRET, NOW - 300), SECRET, now=NOW)["id"] == "evt_1"
    assert verify_webhook(PAYLOAD, sign_webhook(PAYLOAD, SECRET, NOW + 300), SECRET, now=NOW)["id"] == "evt_1"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=,v1=abc",
        f"t=abc,v1={'0' * 64}",
        f"t=-5,v1={'0' * 64}",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},v0={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1=é{'0' * 63}",
        f"t={NOW},v1={'0' * 4096}",
        f"t=１２３,v1={'0' * 64}",
    ],
)
def test_a_garbage_header_is_rejected(header: str) -> None:
    rejected("bad_header", PAYLOAD, header)


def test_a_header_that_is_not_a_string_is_rejected() -> None:
    rejected("bad_header", PAYLOAD, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"",
        b"[]",
        b'"evt_1"',
        b'{"id": "evt_1", "type": "payment.captured", "created": 1700000000}',
        b'{"id": "", "type": "payment.captured", "created": 1700000000, "data": {}}',
        b'{"id": "evt_1", "type": "payment.captured", "created": "1700000000", "data": {}}',
        b'{"id": "evt_1", "type": "payment.captured", "created": true, "data": {}}',
        b'{"id": "evt_1", "type": "payment.captured", "created": 1700000000, "data": []}',
        b'{"id": "evt_1", "type": "payment.captured", "created": 1700000000, "data": {"amount": NaN}}',
        b"[" * 100_000,
    ],
)
def test_a_signed_body_that_is_not_an_event_is_bad_json(payload: bytes) -> None:
    rejected("bad_json", payload, sign_webhook(payload, SECRET, NOW))


def test_several_signatures_during_a_secret_rotation() -> None:
    old = sign_webhook(PAYLOAD, "whsec_old", NOW).split(",")[1]
    new = sign_webhook(PAYLOAD, SECRET, NOW).split(",")[1]
    assert verify_webhook(PAYLOAD, f"t={NOW},{old},{new}", SECRET, now=NOW)["id"] == "evt_1"
    assert verify_webhook(PAYLOAD, f"t={NOW}, {old}, {new}", "whsec_old", now=NOW)["id"] == "evt_1"
    rejected("bad_signature", PAYLOAD, f"t={NOW},{old}")


def test_signing_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="secret is empty"):
        sign_webhook(PAYLOAD, "", NOW)
    with pytest.raises(TypeError, match="bytes"):
        sign_webhook(PAYLOAD.decode(), SECRET, NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int"):
        sign_webhook(PAYLOAD, SECRET, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="secret is empty"):
        verify_webhook(PAYLOAD, sign_webhook(PAYLOAD, SECRET, NOW), "", now=NOW)


def test_the_simulated_gateway_emits_signed_webhooks(gateway: SimulatedGateway) -> None:
    charge = captured(gateway, D("40.00"))
    payload, header = gateway.emit_webhook("payment.captured", {"charge": charge.gateway_id, "amount": charge.amount})

    event = verify_webhook(payload, header, gateway.webhook_secret, now=NOW)
    assert event == {
        "id": "sim_evt_000003",
        "type": "payment.captured",
        "created": NOW,
        "data": {"charge": "sim_ch_000002", "amount": "40.00"},
    }
    rejected("bad_signature", payload, header, secret="whsec_other")
    second, _ = gateway.emit_webhook("payment.refunded", {})
    assert json.loads(second)["id"] == "sim_evt_000004"


# --- finding card numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("4242 4242 4242 4242", ["4242 4242 4242 4242"]),
        ("4000-0566-5566-5556", ["4000-0566-5566-5556"]),
        ("4242424242424242", ["4242424242424242"]),
        ("card: 4242 4242 4242 4242, exp 12/34", ["4242 4242 4242 4242"]),
        ("visa 4242424242424242 amex 378282246310005.", ["4242424242424242", "378282246310005"]),
        ("x4242424242424242y", []),  # glued to letters: part of an identifier, not a written card number
        ("id 0f3c2a1e-4242-4242-4242-424242424242", []),  # inside a UUID
        ("(4242424242424242)", ["4242424242424242"]),
        ("4242424242424242 1234", ["4242424242424242"]),
        ("4242424242424241", []),  # 16 digits, fails Luhn
        ("1234 5678 1234 5678", []),  # fails Luhn
        ("2024-05-17", []),
        ("2024-05-17 12:30:45", []),
        ("2024-05-17T12:30:45Z", []),
        ("+44 20 7946 0958", []),
        ("07700 900461", []),
        ("424242424242", []),  # 12 digits
        ("42424242424242424242", []),  # 20 digits in one run: not a card number
        ("550e8400-e29b-41d4-a716-446655440000", []),
        ("", []),
    ],
)
def test_luhn_like_numbers(text: str, found: list[str]) -> None:
    assert luhn_like_numbers(text) == found


def test_redact_card_numbers() -> None:
    text = "paid with 4242 4242 4242 4242 on 2024-05-17, then 4000-0566-5566-5556."
    assert redact_card_numbers(text) == "paid with [card number removed] on 2024-05-17, then [card number removed]."
    assert redact_card_numbers(text, "****") == "paid with **** on 2024-05-17, then ****."
    assert redact_card_numbers("no numbers") == "no numbers"
    with pytest.raises(TypeError):
        luhn_like_numbers(b"4242424242424242")  # type: ignore[arg-type]


def _check_digit(body: str) -> str:
    """The Luhn check digit for ``body``, computed the textbook way (double every second digit from the right of the body)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        doubled = int(char) * (2 if position % 2 == 0 else 1)
        total += doubled // 10 + doubled % 10
    return str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A Luhn-valid number of 13-19 digits, written plain, in groups of four, or with dashes: (digits, as written)."""
    body = draw(st.text(alphabet="0123456789", min_size=12, max_size=18))
    digits = body + _check_digit(body)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return digits, separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))


@PROPERTY
@given(card=card_numbers(), before=st.sampled_from(["", "card ", "#", "ref: ", "(", "paid:"]), after=st.sampled_from(["", ".", " ok", ")"]))
def test_every_luhn_valid_number_is_found_and_redacted(card: tuple[str, str], before: str, after: str) -> None:
    digits, written = card
    text = f"{before}{written}{after}"

    assert luhn_like_numbers(text) == [written]
    assert redact_card_numbers(text) == f"{before}[card number removed]{after}"
    with pytest.raises(ValueError, match=f"^{CARD_NUMBER_REFUSED}$"):
        SimulatedGateway().authorize(token=written, amount=D("1.00"), currency="GBP", idempotency_key="k", reference="r")
    assert digits not in redact_card_numbers(text)
