"""Promo codes: every refusal (and that it writes nothing), redemption and release, the DB constraints,
the admin, and customers racing for the last use of a code on real Postgres connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from jobs.models import Trade
from marketplace.accounts.models import User
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from quotes.models import PromoCode, PromoRedemption
from quotes.pricing import Promo
from quotes.promos import promo_check, promo_redeem, promo_release, promo_to_pricing
from tests.factories import trade

D = Decimal


def make_promo(code: str = "SPRING10", **fields: Any) -> PromoCode:
    values: dict[str, Any] = {"kind": PromoCode.Kind.PERCENT, "value": D("10"), "valid_from": timezone.now() - timedelta(days=1)}
    values.update(fields)
    return PromoCode.objects.create(code=code, **values)


def make_customer(username: str) -> User:
    # No password: hashing one per racer would dominate the test's run time.
    return User.objects.create_user(username, role=User.Role.CUSTOMER)


def refusal_code(call: Callable[[], object]) -> str:
    with pytest.raises(ServiceError) as caught:
        call()
    assert status_for(caught.value) == 400
    code = caught.value.code
    assert isinstance(code, str)
    return code


def written(promo: PromoCode) -> tuple[int, int]:
    """(redemptions, uses) of ``promo`` as the database has them."""
    promo.refresh_from_db()
    return PromoRedemption.objects.filter(promo=promo).count(), promo.uses


# --- refusals ------------------------------------------------------------------------------


REFUSALS: dict[str, Callable[[User, User], tuple[PromoCode, Trade, Decimal]]] = {}


def refusal(name: str) -> Callable[[Callable[[User, User], tuple[PromoCode, Trade, Decimal]]], Any]:
    def register(build: Callable[[User, User], tuple[PromoCode, Trade, Decimal]]) -> Any:
        REFUSALS[name] = build
        return build

    return register


@refusal("promo_inactive")
def _inactive(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    return make_promo(is_active=False), trade(), D("100.00")


@refusal("promo_not_started")
def _not_started(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    return make_promo(valid_from=timezone.now() + timedelta(hours=1)), trade(), D("100.00")


@refusal("promo_expired")
def _expired(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    now = timezone.now()
    return make_promo(valid_from=now - timedelta(days=7), valid_until=now - timedelta(seconds=1)), trade(), D("100.00")


@refusal("promo_wrong_trade")
def _wrong_trade(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    return make_promo(trade=trade("electrical", "Electrical")), trade(), D("100.00")


@refusal("promo_below_min_spend")
def _below_min_spend(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    return make_promo(min_spend=D("100.00")), trade(), D("99.99")


@refusal("promo_exhausted")
def _exhausted(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    promo = make_promo(max_uses=1)
    promo_redeem(code=promo.code, customer=other, trade=trade(), amount=D("50.00"), reference="job:1")
    return promo, trade(), D("100.00")


@refusal("promo_already_used")
def _already_used(customer: User, other: User) -> tuple[PromoCode, Trade, Decimal]:
    promo = make_promo(max_uses=10, max_uses_per_customer=1)
    promo_redeem(code=promo.code, customer=customer, trade=trade(), amount=D("50.00"), reference="job:1")
    return promo, trade(), D("100.00")


@pytest.mark.django_db
@pytest.mark.parametrize("expected", sorted(REFUSALS))
def test_refusals_have_stable_codes_and_write_nothing(expected: str, customer: User, other_customer: User) -> None:
    promo, job_trade, amount = REFUSALS[expected](customer, other_customer)
    before = written(promo)
    call: dict[str, Any] = {"code": promo.code, "customer": customer, "trade": job_trade, "amount": amount}
    assert refusal_code(lambda: promo_check(**call)) == expected
    assert refusal_code(lambda: promo_redeem(**call, reference="job:2")) == expected
    assert written(promo) == before


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["NOPE", "", "   "])
def test_an_unknown_code_is_refused_and_writes_nothing(code: str, customer: User) -> None:
    make_promo()
    call: dict[str, Any] = {"code": code, "customer": customer, "trade": trade(), "amount": D("10.00")}
    assert refusal_code(lambda: promo_check(**call)) == "promo_unknown"
    assert refusal_code(lambda: promo_redeem(**call, reference="x")) == "promo_unknown"
    assert PromoRedemption.objects.count() == 0
    assert PromoCode.objects.get().uses == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [D("0"), D("-1.00"), D("10.001"), D("1000000.01"), D("NaN")])
def test_a_bad_amount_is_refused(amount: Decimal, customer: User) -> None:
    make_promo()
    call: dict[str, Any] = {"code": "SPRING10", "customer": customer, "trade": trade(), "amount": amount}
    assert refusal_code(lambda: promo_check(**call)) == "bad_amount"
    assert refusal_code(lambda: promo_redeem(**call, reference="x")) == "bad_amount"
    assert PromoRedemption.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("reference", ["", "  ", "x" * 65])
def test_a_bad_reference_is_refused(reference: str, customer: User) -> None:
    make_promo()
    call = lambda: promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("10.00"), reference=reference)  # noqa: E731
    assert refusal_code(call) == "bad_reference"
    assert PromoRedemption.objects.count() == 0


@pytest.mark.django_db
def test_messages_say_what_is_wrong_and_what_to_do(customer: User) -> None:
    make_promo(min_spend=D("100.00"))
    with pytest.raises(ServiceError) as caught:
        promo_check(code="spring10", customer=customer, trade=trade(), amount=D("80.00"))
    assert str(caught.value.message) == "Spend at least £100.00 to use SPRING10; this comes to £80.00."


@pytest.mark.django_db
def test_the_window_is_checked_at_the_given_moment(customer: User) -> None:
    start = timezone.now()
    make_promo(valid_from=start, valid_until=start + timedelta(days=1))
    check = lambda at: promo_check(code="SPRING10", customer=customer, trade=trade(), amount=D("10.00"), at=at)  # noqa: E731
    assert refusal_code(lambda: check(start - timedelta(microseconds=1))) == "promo_not_started"
    assert check(start).code == "SPRING10"
    assert check(start + timedelta(days=1, microseconds=-1)).code == "SPRING10"
    assert refusal_code(lambda: check(start + timedelta(days=1))) == "promo_expired"


# --- redeeming -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_percent_promo_gives_the_pricing_engines_discount(customer: User) -> None:
    promo = make_promo(kind=PromoCode.Kind.PERCENT, value=D("12.50"))
    redemption = promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("99.99"), reference="quote:7:v1")
    # 12.5 % of 99.99 is 12.49875, rounded half up once.
    assert redemption.amount == D("12.50")
    assert (redemption.promo_id, redemption.customer_id, redemption.reference) == (promo.pk, customer.pk, "quote:7:v1")
    assert written(promo) == (1, 1)
    assert redemption.promo.uses == 1


@pytest.mark.django_db
def test_fixed_promo_is_capped_at_the_amount(customer: User, other_customer: User) -> None:
    promo = make_promo("TENOFF", kind=PromoCode.Kind.FIXED, value=D("10.00"), max_uses_per_customer=2)
    assert promo_redeem(code="TENOFF", customer=customer, trade=trade(), amount=D("45.00"), reference="job:1").amount == D("10.00")
    assert promo_redeem(code="TENOFF", customer=customer, trade=trade(), amount=D("6.50"), reference="job:2").amount == D("6.50")
    assert written(promo) == (2, 2)


def test_promo_to_pricing_maps_every_field() -> None:
    promo = PromoCode(code="TENOFF", kind=PromoCode.Kind.FIXED, value=D("10.00"), min_spend=D("30.00"))
    assert promo_to_pricing(promo) == Promo(code="TENOFF", kind="fixed", value=D("10.00"), min_spend=D("30.00"))


@pytest.mark.django_db
def test_codes_are_case_insensitive(customer: User) -> None:
    promo = make_promo()
    assert promo_check(code=" spring10 ", customer=customer, trade=trade(), amount=D("10.00")) == promo
    redemption = promo_redeem(code="Spring10", customer=customer, trade=trade(), amount=D("10.00"), reference="job:1")
    assert redemption.promo == promo


@pytest.mark.django_db
def test_a_trade_restricted_code_works_for_its_trade(customer: User) -> None:
    electrical = trade("electrical", "Electrical")
    promo = make_promo(trade=electrical)
    assert promo_check(code="SPRING10", customer=customer, trade=electrical, amount=D("10.00")) == promo
    with pytest.raises(ServiceError) as caught:
        promo_check(code="SPRING10", customer=customer, trade=trade(), amount=D("10.00"))
    assert "only for Electrical jobs, not Plumbing" in str(caught.value.message)


@pytest.mark.django_db
def test_min_spend_is_inclusive(customer: User) -> None:
    make_promo(min_spend=D("100.00"))
    assert promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("100.00"), reference="job:1").amount == D("10.00")


@pytest.mark.django_db
def test_per_customer_limit_counts_each_customer_separately(customer: User, other_customer: User) -> None:
    promo = make_promo(max_uses_per_customer=2)
    for reference in ("job:1", "job:2"):
        promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("10.00"), reference=reference)
    assert refusal_code(lambda: promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("10.00"), reference="job:3")) == (
        "promo_already_used"
    )
    promo_redeem(code="SPRING10", customer=other_customer, trade=trade(), amount=D("10.00"), reference="job:3")
    assert written(promo) == (3, 3)


@pytest.mark.django_db
def test_retrying_the_same_reference_returns_the_same_redemption(customer: User) -> None:
    promo = make_promo(max_uses=1)
    first = promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("50.00"), reference="quote:7:v2")
    # Even now the code is used up, and with the code typed differently, the retry succeeds without counting again.
    again = promo_redeem(code="spring10", customer=customer, trade=trade(), amount=D("50.00"), reference="quote:7:v2")
    assert again.pk == first.pk
    assert again.amount == D("5.00")
    assert written(promo) == (1, 1)


@pytest.mark.django_db
def test_release_gives_the_use_back_and_is_idempotent(customer: User, other_customer: User) -> None:
    promo = make_promo(max_uses=1)
    redemption = promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("50.00"), reference="quote:7:v1")
    promo_release(redemption=redemption)
    assert written(promo) == (0, 0)
    promo_release(redemption=redemption)
    assert written(promo) == (0, 0)
    # The use is back: the same customer (per-customer limit 1) or anyone else may now take it.
    again = promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("20.00"), reference="quote:7:v2")
    assert again.amount == D("2.00")
    assert written(promo) == (1, 1)
    late = lambda: promo_redeem(code="SPRING10", customer=other_customer, trade=trade(), amount=D("20.00"), reference="x")  # noqa: E731
    assert refusal_code(late) == "promo_exhausted"


# --- database constraints ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"value": D("-0.01")},
        {"kind": PromoCode.Kind.PERCENT, "value": D("100.01")},
        {"kind": "bogus"},
        {"min_spend": D("-1.00")},
        {"uses": -1},
        {"max_uses": 2, "uses": 3},
        {"max_uses_per_customer": 0},
        {"valid_until": timezone.now() - timedelta(days=2)},
        {"code": "lower"},
    ],
    ids=lambda fields: ",".join(fields),
)
def test_the_database_refuses_impossible_promos(fields: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PromoCode.objects.bulk_create([PromoCode(**{"code": "BAD", "kind": "fixed", "value": D("5"), **fields})])


@pytest.mark.django_db
def test_a_fixed_promo_may_be_worth_more_than_100_pounds_and_uses_may_reach_max() -> None:
    promo = make_promo(kind=PromoCode.Kind.FIXED, value=D("250.00"), max_uses=2)
    PromoCode.objects.filter(pk=promo.pk).update(uses=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        PromoCode.objects.filter(pk=promo.pk).update(uses=3)


@pytest.mark.django_db
def test_a_redemption_is_unique_per_promo_customer_and_reference(customer: User) -> None:
    promo = make_promo()
    PromoRedemption.objects.create(promo=promo, customer=customer, reference="job:1", amount=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        PromoRedemption.objects.create(promo=promo, customer=customer, reference="job:1", amount=D("1.00"))


# --- admin ---------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client: Any, django_user_model: type[User]) -> Any:
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456-x"))
    return client


def promo_form(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    form = {
        "code": "spring10",
        "description": "Spring campaign",
        "kind": "percent",
        "value": "10",
        "valid_from_0": now.strftime("%Y-%m-%d"),
        "valid_from_1": now.strftime("%H:%M:%S"),
        "valid_until_0": "",
        "valid_until_1": "",
        "min_spend": "0",
        "trade": "",
        "max_uses": "",
        "max_uses_per_customer": "1",
        "is_active": "on",
    }
    form.update(overrides)
    return form


@pytest.mark.django_db
def test_admin_stores_codes_upper_case_and_refuses_a_case_insensitive_duplicate(staff_client: Any) -> None:
    add = reverse("admin:quotes_promocode_add")
    assert staff_client.post(add, promo_form()).status_code == 302
    assert PromoCode.objects.get().code == "SPRING10"
    response = staff_client.post(add, promo_form(code="Spring10"))
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = staff_client.post(add, promo_form(code="OTHER", value="150"))
    assert "A percentage must be between 0 and 100." in response.content.decode()
    assert PromoCode.objects.count() == 1


@pytest.mark.django_db
def test_admin_edit_never_overwrites_uses_counted_meanwhile(staff_client: Any, customer: User, other_customer: User) -> None:
    promo = make_promo(max_uses=5)
    change = reverse("admin:quotes_promocode_change", args=[promo.pk])
    assert staff_client.get(change).status_code == 200
    for buyer in (customer, other_customer):
        promo_redeem(code="SPRING10", customer=buyer, trade=trade(), amount=D("10.00"), reference="job:1")
    assert staff_client.post(change, promo_form(description="Renamed", max_uses="5")).status_code == 302
    promo.refresh_from_db()
    assert (promo.description, promo.uses) == ("Renamed", 2)
    response = staff_client.post(change, promo_form(max_uses="1"))
    assert response.status_code == 200
    assert "already been used 2 times" in response.content.decode()
    assert PromoCode.objects.get().max_uses == 5


@pytest.mark.django_db
def test_admin_changelists_and_search_render(staff_client: Any, customer: User) -> None:
    make_promo(trade=trade())
    promo_redeem(code="SPRING10", customer=customer, trade=trade(), amount=D("10.00"), reference="job:1")
    for name in ("promocode", "promoredemption"):
        url = reverse(f"admin:quotes_{name}_changelist")
        assert staff_client.get(url).status_code == 200
        assert staff_client.get(url, {"q": "1"}).status_code == 200
    assert staff_client.get(reverse("admin:quotes_promoredemption_add")).status_code == 403


# --- racing --------------------------------------------------------------------------------


def race(calls: list[Callable[[], PromoRedemption]]) -> tuple[list[PromoRedemption], list[str]]:
    """Run each call on its own thread and DB connection, all released at once; (redemptions, refusal codes)."""
    barrier = threading.Barrier(len(calls), timeout=30)
    redeemed: list[PromoRedemption] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], PromoRedemption]) -> None:
        try:
            connection.ensure_connection()  # connect before the barrier, so the race is for the lock, not for a connection
            barrier.wait()
            redeemed.append(call())
        except ServiceError as exc:
            refused.append(str(exc.code))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return redeemed, refused


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("max_uses", "racers"), [(1, 8), (5, 16)])
def test_customers_racing_for_the_last_uses_exactly_max_uses_win(max_uses: int, racers: int) -> None:
    promo = make_promo(max_uses=max_uses)
    plumbing = trade()
    customers = [make_customer(f"racer{n}") for n in range(racers)]

    def redeem(customer: User) -> Callable[[], PromoRedemption]:
        return lambda: promo_redeem(code="SPRING10", customer=customer, trade=plumbing, amount=D("40.00"), reference=f"job:{customer.pk}")

    redeemed, refused = race([redeem(customer) for customer in customers])
    assert len(redeemed) == max_uses
    assert refused == ["promo_exhausted"] * (racers - max_uses)
    assert len({r.customer_id for r in redeemed}) == max_uses
    assert written(promo) == (max_uses, max_uses)


@pytest.mark.django_db(transaction=True)
def test_one_customer_racing_with_different_references_gets_one_use(customer: User) -> None:
    promo = make_promo(max_uses=10, max_uses_per_customer=1)
    plumbing = trade()

    def redeem(reference: str) -> Callable[[], PromoRedemption]:
        return lambda: promo_redeem(code="SPRING10", customer=customer, trade=plumbing, amount=D("40.00"), reference=reference)

    redeemed, refused = race([redeem(f"quote:{n}:v1") for n in range(8)])
    assert len(redeemed) == 1
    assert refused == ["promo_already_used"] * 7
    assert written(promo) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_the_same_redemption_retried_concurrently_counts_once(customer: User) -> None:
    promo = make_promo(max_uses=10)
    plumbing = trade()
    call = lambda: promo_redeem(code="SPRING10", customer=customer, trade=plumbing, amount=D("40.00"), reference="quote:7:v1")  # noqa: E731
    redeemed, refused = race([call] * 8)
    assert refused == []
    assert len({r.pk for r in redeemed}) == 1
    assert written(promo) == (1, 1)
