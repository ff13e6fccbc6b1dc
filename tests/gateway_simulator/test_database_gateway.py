"""DatabaseSimulatedGateway: the simulated gateway's contract, with its state shared through Postgres.

The behavioural cases of tests/quotes/test_gateway.py that take the ``gateway`` fixture are
imported below and run again here, where ``gateway`` is a DatabaseSimulatedGateway (pytest
resolves a test's fixtures in the module that collects it). Then what only a shared, persistent
gateway has to do: survive new instances and processes, act once under races, store no card data.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, OperationalError, connection, transaction
from django.urls import reverse

from gateway_simulator.gateway import DatabaseSimulatedGateway, request_fingerprint
from gateway_simulator.models import Authorization, Charge, IdempotencyReply, IdSequence, RetriedKey
from marketplace.cards import luhn_like_numbers
from payments.gateway import GatewayRequestError, GatewayResult, GatewayUnavailable, PaymentGateway
from payments.simulator import SimulatedGateway
from payments.webhooks import verify_webhook
from tests.quotes import test_gateway as contract
from tests.quotes.test_gateway import (  # the same cases, against the gateway fixture below
    log_lines,  # noqa: F401 - a fixture the card-number case uses
    test_a_card_number_is_refused_and_never_repeated,
    test_a_float_is_refused_with_advice,
    test_a_partial_capture_is_allowed_once,
    test_a_refused_request_does_not_use_up_its_key,
    test_a_replayed_decline_is_the_same_decline,
    test_amounts_must_be_decimals,
    test_amounts_must_be_positive_pounds_and_pence,
    test_an_outage_acts_on_nothing_and_the_retry_acts_once,
    test_capture_at_most_the_authorised_amount,
    test_currency_is_an_iso_code_in_capitals,
    test_declines_are_results_not_exceptions,
    test_other_bad_arguments,
    test_refunds_may_repeat_up_to_what_was_captured,
    test_replays_return_the_first_result_and_act_once,
    test_short_digit_runs_in_a_token_are_fine,
    test_the_same_key_for_another_operation_is_refused,
    test_the_same_key_with_other_parameters_is_refused,
    test_the_simulated_gateway_emits_signed_webhooks,
    test_tok_retry_times_out_once_per_key_then_succeeds,
    test_tok_visa_is_authorised,
    test_unknown_ids_are_refused_without_repeating_them,
    test_void_only_an_uncaptured_authorization,
)
from tests.support import ROOT, subprocess_env

pytestmark = pytest.mark.django_db

D = Decimal
NOW = contract.NOW
SECRET = contract.SECRET
T = TypeVar("T")

CONTRACT_CASES = [
    test_a_card_number_is_refused_and_never_repeated,
    test_a_float_is_refused_with_advice,
    test_a_partial_capture_is_allowed_once,
    test_a_refused_request_does_not_use_up_its_key,
    test_a_replayed_decline_is_the_same_decline,
    test_amounts_must_be_decimals,
    test_amounts_must_be_positive_pounds_and_pence,
    test_an_outage_acts_on_nothing_and_the_retry_acts_once,
    test_capture_at_most_the_authorised_amount,
    test_currency_is_an_iso_code_in_capitals,
    test_declines_are_results_not_exceptions,
    test_other_bad_arguments,
    test_refunds_may_repeat_up_to_what_was_captured,
    test_replays_return_the_first_result_and_act_once,
    test_short_digit_runs_in_a_token_are_fine,
    test_the_same_key_for_another_operation_is_refused,
    test_the_same_key_with_other_parameters_is_refused,
    test_the_simulated_gateway_emits_signed_webhooks,
    test_tok_retry_times_out_once_per_key_then_succeeds,
    test_tok_visa_is_authorised,
    test_unknown_ids_are_refused_without_repeating_them,
    test_void_only_an_uncaptured_authorization,
]


@pytest.fixture
def gateway() -> DatabaseSimulatedGateway:
    return DatabaseSimulatedGateway(webhook_secret=SECRET, clock=lambda: NOW)


FIFTY = D("50.00")


def authorize(gateway: PaymentGateway, *, token: str = "tok_visa", amount: Decimal = FIFTY, key: str = "auth-1") -> GatewayResult:
    return gateway.authorize(token=token, amount=amount, currency="GBP", idempotency_key=key, reference="payment-1")


def refused(code: str, act: Callable[[], object]) -> GatewayRequestError:
    with pytest.raises(GatewayRequestError) as caught:
        act()
    assert caught.value.code == code, str(caught.value)
    return caught.value


def test_every_gateway_case_of_the_in_memory_suite_runs_here_too() -> None:
    """A case added to tests/quotes/test_gateway.py that takes ``gateway`` must be imported above, or this fails."""
    in_memory = {
        name
        for name, function in vars(contract).items()
        if name.startswith("test_") and callable(function) and "gateway" in inspect.signature(function).parameters
    }
    assert in_memory == {case.__name__ for case in CONTRACT_CASES}


# --- the class -----------------------------------------------------------------------------


def test_the_database_gateway_is_clearly_simulated_and_fits_the_interface(settings: Any) -> None:
    settings.PAYMENTS = {"WEBHOOK_SECRET": "whsec_from_settings"}
    gateway: PaymentGateway = DatabaseSimulatedGateway()  # mypy checks the Protocol
    assert gateway.name == "simulated"
    assert "SIMULATED: no real money moves" in (DatabaseSimulatedGateway.__doc__ or "")
    assert apps.get_app_config("gateway_simulator").verbose_name == "Simulated payment gateway (no real money)"
    assert DatabaseSimulatedGateway().webhook_secret == "whsec_from_settings"
    assert DatabaseSimulatedGateway(webhook_secret="whsec_given").webhook_secret == "whsec_given"


@pytest.mark.parametrize("payments", [None, {}, {"WEBHOOK_SECRET": ""}, {"WEBHOOK_SECRET": None}])
def test_the_webhook_secret_is_required_when_settings_have_none(settings: Any, payments: dict[str, Any] | None) -> None:
    if payments is None:
        del settings.PAYMENTS
    else:
        settings.PAYMENTS = payments
    with pytest.raises(ImproperlyConfigured, match=r"PAYMENTS\['WEBHOOK_SECRET'\]"):
        DatabaseSimulatedGateway()
    with pytest.raises(ValueError, match="non-empty str"):
        DatabaseSimulatedGateway(webhook_secret="")


def test_amounts_beyond_the_columns_are_refused_not_truncated(gateway: DatabaseSimulatedGateway) -> None:
    # The ledger allows up to 1e12; DecimalField(12, 2) holds at most 9,999,999,999.99.
    assert authorize(gateway, amount=D("9999999999.99")).ok
    refused("bad_amount", lambda: authorize(gateway, amount=D("10000000000.00"), key="big"))
    assert authorize(SimulatedGateway(), amount=D("10000000000.00")).ok  # the in-memory one has no columns


def test_long_unknown_ids_are_unknown_not_database_errors(gateway: DatabaseSimulatedGateway) -> None:
    refused("unknown_authorization", lambda: gateway.capture(authorization_id="x" * 255, amount=D("1.00"), idempotency_key="c"))
    refused("unknown_charge", lambda: gateway.refund(charge_id="y" * 255, amount=D("1.00"), idempotency_key="r"))


def test_the_fingerprint_is_canonical_and_not_card_like() -> None:
    capture = ("capture", "sim_auth_000001", D("50.00"))
    assert request_fingerprint(capture) == request_fingerprint(("capture", "sim_auth_000001", D("50.00")))
    assert request_fingerprint(capture) != request_fingerprint(("capture", "sim_auth_000001", D("50.01")))
    assert request_fingerprint(capture) != request_fingerprint(("refund", "sim_auth_000001", D("50.00")))
    for n in range(2000):
        assert luhn_like_numbers(request_fingerprint(("authorize", f"key-{n}"))) == []


def test_a_database_failure_is_an_unavailable_gateway_and_the_retry_acts_once(
    gateway: DatabaseSimulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = authorize(gateway)

    def deadlock(kind: str) -> str:
        raise OperationalError("deadlock detected")

    with monkeypatch.context() as patch:
        patch.setattr("gateway_simulator.gateway._next_id", deadlock)
        with pytest.raises(GatewayUnavailable, match="retry later with the same idempotency key"):
            gateway.capture(authorization_id=held.gateway_id, amount=D("50.00"), idempotency_key="cap")
    assert Authorization.objects.get(pk=held.gateway_id).state == "authorized"  # rolled back: nothing happened

    capture = gateway.capture(authorization_id=held.gateway_id, amount=D("50.00"), idempotency_key="cap")
    assert capture.gateway_id == "sim_ch_000002"
    assert [action.status for action in gateway.actions] == ["authorized", "captured"]


def test_the_database_refuses_an_impossible_ledger() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Authorization.objects.create(id="sim_auth_999999", currency="GBP", state="captured", authorized=D("10.00"), captured=D("20.00"))


# --- shared state: new instances, new processes ----------------------------------------------


def test_state_survives_a_new_instance() -> None:
    web = DatabaseSimulatedGateway(webhook_secret=SECRET, clock=lambda: NOW)
    held = authorize(web)
    with pytest.raises(GatewayUnavailable):
        authorize(web, token="tok_retry", key="flaky")
    web.fail_next(5)  # an outage of that instance only
    del web

    clock = DatabaseSimulatedGateway(webhook_secret=SECRET, clock=lambda: NOW)  # "after a restart"
    assert authorize(clock) == held  # the reply survived: no second authorization
    retried = authorize(clock, token="tok_retry", key="flaky")  # the timeout is remembered too
    assert (retried.status, retried.gateway_id) == ("authorized", "sim_auth_000002")
    charge = clock.capture(authorization_id=held.gateway_id, amount=D("40.00"), idempotency_key="cap")
    assert charge == GatewayResult(True, "captured", "sim_ch_000003", D("40.00"), "Captured 40.00 GBP.", False)

    third = DatabaseSimulatedGateway(webhook_secret=SECRET, clock=lambda: NOW)
    assert third.capture(authorization_id=held.gateway_id, amount=D("40.00"), idempotency_key="cap") == charge
    refused("not_allowed", lambda: third.capture(authorization_id=held.gateway_id, amount=D("1.00"), idempotency_key="cap-2"))
    refund = third.refund(charge_id=charge.gateway_id, amount=D("15.00"), idempotency_key="ref")
    assert refund.message == "Refunded 15.00 GBP; 25.00 left to refund."
    payload, _ = third.emit_webhook("payment.refunded", {"refund": refund.gateway_id})
    assert json.loads(payload)["id"] == "sim_evt_000005"

    assert [action.status for action in third.actions] == ["authorized", "authorized", "captured", "refunded"]
    assert third.actions == clock.actions
    stored = Authorization.objects.get(pk=held.gateway_id)
    assert (stored.state, stored.authorized, stored.captured, stored.refunded) == ("partially_refunded", D("50.00"), D("40.00"), D("15.00"))
    assert Charge.objects.get(pk=charge.gateway_id).authorization_id == held.gateway_id
    assert IdSequence.objects.get().value == 5
    assert RetriedKey.objects.filter(key="flaky").exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_authorization_from_another_process_can_be_captured_after_it_exits() -> None:
    code = (
        "import django, json; django.setup()\n"
        "from decimal import Decimal\n"
        "from gateway_simulator.gateway import DatabaseSimulatedGateway\n"
        "from payments.gateway import GatewayUnavailable\n"
        "gateway = DatabaseSimulatedGateway(webhook_secret='whsec_web')\n"
        "result = gateway.authorize(\n"
        "    token='tok_visa', amount=Decimal('80.00'), currency='GBP', idempotency_key='deposit-1', reference='p1'\n"
        ")\n"
        "try:\n"
        "    gateway.authorize(token='tok_retry', amount=Decimal('5.00'), currency='GBP', idempotency_key='flaky-1', reference='p2')\n"
        "except GatewayUnavailable:\n"
        "    pass\n"
        "print(json.dumps([result.status, result.gateway_id, str(result.amount), result.message]))\n"
    )
    web = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=subprocess_env(DJANGO_SETTINGS_MODULE="marketplace.settings"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert web.returncode == 0, web.stderr
    status, authorization_id, amount, message = json.loads(web.stdout.strip().splitlines()[-1])
    assert (status, authorization_id, amount) == ("authorized", "sim_auth_000001", "80.00")

    gateway = DatabaseSimulatedGateway(webhook_secret="whsec_clock")
    replay = gateway.authorize(token="tok_visa", amount=D("80"), currency="GBP", idempotency_key="deposit-1", reference="p1")
    assert replay == GatewayResult(True, "authorized", authorization_id, D("80.00"), message, False)
    assert gateway.capture(authorization_id=authorization_id, amount=D("80.00"), idempotency_key="balance-1").ok
    flaky = gateway.authorize(token="tok_retry", amount=D("5.00"), currency="GBP", idempotency_key="flaky-1", reference="p2")
    assert flaky.status == "authorized"
    assert len(gateway.actions) == 3


# --- races: each call on its own thread and connection -------------------------------------


def race(calls: list[Callable[[], T]]) -> tuple[list[T], list[BaseException]]:
    """Run each call on its own thread and database connection, all released at once: (results, exceptions raised)."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[T] = []
    raised: list[BaseException] = []

    def run(call: Callable[[], T]) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier: race for the locks, not for connections
            barrier.wait()
            results.append(call())
        except BaseException as exc:
            raised.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results, raised


@pytest.mark.django_db(transaction=True)
def test_captures_racing_with_different_keys_take_the_money_once() -> None:
    held = authorize(DatabaseSimulatedGateway(webhook_secret=SECRET))

    def capture(n: int) -> Callable[[], GatewayResult]:
        gateway = DatabaseSimulatedGateway(webhook_secret=SECRET)  # one per "process"
        return lambda: gateway.capture(authorization_id=held.gateway_id, amount=D("50.00"), idempotency_key=f"capture-{n}")

    captured, raised = race([capture(n) for n in range(8)])
    assert len(captured) == 1
    assert captured[0].status == "captured"
    assert all(isinstance(exc, GatewayRequestError) and exc.code == "not_allowed" for exc in raised), raised
    assert len(raised) == 7
    assert Charge.objects.count() == 1
    assert Authorization.objects.get(pk=held.gateway_id).captured == D("50.00")


@pytest.mark.django_db(transaction=True)
def test_refunds_racing_never_total_more_than_was_captured() -> None:
    gateway = DatabaseSimulatedGateway(webhook_secret=SECRET)
    held = authorize(gateway)
    charge = gateway.capture(authorization_id=held.gateway_id, amount=D("50.00"), idempotency_key="cap")

    def refund(n: int) -> Callable[[], GatewayResult]:
        return lambda: DatabaseSimulatedGateway(webhook_secret=SECRET).refund(
            charge_id=charge.gateway_id, amount=D("20.00"), idempotency_key=f"refund-{n}"
        )

    refunded, raised = race([refund(n) for n in range(6)])
    assert len(refunded) == 2  # 20 + 20; a third 20 would exceed the 50 captured
    assert all(isinstance(exc, GatewayRequestError) and exc.code == "bad_amount" for exc in raised), raised
    assert Authorization.objects.get(pk=held.gateway_id).refunded == D("40.00")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("token", ["tok_visa", "tok_decline"])
def test_the_same_key_from_several_threads_acts_once(token: str) -> None:
    def call() -> GatewayResult:
        return authorize(DatabaseSimulatedGateway(webhook_secret=SECRET), token=token, key="same-key")

    results, raised = race([call] * 8)
    assert raised == []
    assert len(results) == 8
    assert len(set(results)) == 1
    assert Authorization.objects.count() == 1
    assert IdempotencyReply.objects.count() == 1
    assert IdSequence.objects.get().value == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_capture_from_several_threads_acts_once() -> None:
    held = authorize(DatabaseSimulatedGateway(webhook_secret=SECRET))

    def call() -> GatewayResult:
        return DatabaseSimulatedGateway(webhook_secret=SECRET).capture(
            authorization_id=held.gateway_id, amount=D("30.00"), idempotency_key="capture-once"
        )

    results, raised = race([call] * 8)
    assert raised == []
    assert len(set(results)) == 1
    assert results[0].status == "captured"
    assert Charge.objects.count() == 1
    assert [action.status for action in DatabaseSimulatedGateway(webhook_secret=SECRET).actions] == ["authorized", "captured"]


@pytest.mark.django_db(transaction=True)
def test_tok_retry_racing_on_one_key_times_out_once() -> None:
    def call() -> GatewayResult:
        return authorize(DatabaseSimulatedGateway(webhook_secret=SECRET), token="tok_retry", key="flaky")

    results, raised = race([call] * 6)
    assert len(raised) == 1
    assert isinstance(raised[0], GatewayUnavailable)
    assert len(results) == 5
    assert len(set(results)) == 1
    assert Authorization.objects.count() == 1


# --- no card data anywhere ---------------------------------------------------------------------

CARD_NUMBERS = ["4242424242424242", "4242 4242 4242 4242", "4000-0566-5566-5556", "378282246310005", "tok_4111111111111111"]


def every_row_as_text() -> dict[str, list[str]]:
    """Every row of every table in the test database, as Postgres writes a row as text."""
    rows: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} AS t")
            rows[table] = [row[0] for row in cursor.fetchall()]
    return rows


def test_no_table_holds_a_card_number_after_one_is_sent(gateway: DatabaseSimulatedGateway) -> None:
    for n, card_number in enumerate(CARD_NUMBERS):
        with pytest.raises(GatewayRequestError, match="never a card number"):
            authorize(gateway, token=card_number, key=f"card-{n}")
    # And everything else the gateway stores, so the scan is not of empty tables.
    held = authorize(gateway)
    authorize(gateway, token="tok_decline", key="declined")
    with pytest.raises(GatewayUnavailable):
        authorize(gateway, token="tok_retry", key="flaky")
    charge = gateway.capture(authorization_id=held.gateway_id, amount=D("40.00"), idempotency_key="cap")
    gateway.refund(charge_id=charge.gateway_id, amount=D("10.00"), idempotency_key="ref")
    gateway.void(authorization_id=authorize(gateway, key="auth-2").gateway_id, idempotency_key="void")
    payload, header = gateway.emit_webhook("payment.captured", {"charge": charge.gateway_id, "amount": charge.amount})
    assert verify_webhook(payload, header, SECRET, now=NOW)["data"]["amount"] == "40.00"

    rows = every_row_as_text()
    ours = {table: found for table, found in rows.items() if table.startswith("gateway_simulator_")}
    assert sorted(ours) == [
        "gateway_simulator_authorization",
        "gateway_simulator_charge",
        "gateway_simulator_idempotencyreply",
        "gateway_simulator_idsequence",
        "gateway_simulator_retriedkey",
    ]
    assert all(ours.values()), "every simulator table has rows to scan"
    found = {table: [luhn_like_numbers(row) for row in table_rows] for table, table_rows in rows.items()}
    assert {table: hits for table, hits in found.items() if any(hits)} == {}
    everything = "".join(c for row in (row for table_rows in rows.values() for row in table_rows) for c in row if c.isdigit())
    for card_number in CARD_NUMBERS:
        assert "".join(c for c in card_number if c.isdigit()) not in everything
    # Nor the tokens or references the caller sent: only fingerprints of them.
    stored = [*ours["gateway_simulator_idempotencyreply"], *ours["gateway_simulator_authorization"]]
    assert not any("tok_" in row or "payment-1" in row for row in stored)


# --- admin ---------------------------------------------------------------------------------------

MODELS = ["authorization", "charge", "idempotencyreply", "retriedkey", "idsequence"]


@pytest.mark.parametrize("model", MODELS)
def test_the_admin_lists_the_state_read_only(admin_client: Any, gateway: DatabaseSimulatedGateway, model: str) -> None:
    charge = gateway.capture(authorization_id=authorize(gateway).gateway_id, amount=D("5.00"), idempotency_key="cap")
    with pytest.raises(GatewayUnavailable):
        authorize(gateway, token="tok_retry", key="flaky")
    changelist = reverse(f"admin:gateway_simulator_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "sim"}).status_code == 200
    assert admin_client.get(reverse(f"admin:gateway_simulator_{model}_add")).status_code == 403
    if model == "charge":
        change = reverse("admin:gateway_simulator_charge_change", args=[charge.gateway_id])
        page = admin_client.get(change)
        assert page.status_code == 200  # view only
        assert admin_client.post(change, {}).status_code == 403
        delete = reverse("admin:gateway_simulator_charge_delete", args=[charge.gateway_id])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        assert Charge.objects.filter(pk=charge.gateway_id).exists()
