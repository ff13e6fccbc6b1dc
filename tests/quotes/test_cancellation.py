"""The cancellation policy and the platform's share: pure functions, examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import share_of
from payments.cancellation import CancellationTerms, cancellation_charge

D = Decimal
TERMS = CancellationTerms(free_minutes=5, late_hours=24, late_fee_percent=D("50"))
BOOKED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def charge(after: timedelta, appointment_in: timedelta | None, *, deposit: str = "34.80", by_customer: bool = True) -> Decimal:
    cancelled = BOOKED + after
    start = cancelled + appointment_in if appointment_in is not None else None
    return cancellation_charge(
        terms=TERMS, deposit=D(deposit), accepted_at=BOOKED, cancelled_at=cancelled, appointment_start=start, by_customer=by_customer
    ).fee


def test_the_policy_by_example() -> None:
    assert charge(timedelta(minutes=5), timedelta(hours=2)) == D("0.00")  # change of mind right after booking
    assert charge(timedelta(minutes=6), timedelta(hours=2)) == D("17.40")  # late: half the deposit
    assert charge(timedelta(minutes=6), timedelta(hours=24)) == D("0.00")  # in good time
    assert charge(timedelta(minutes=6), None) == D("0.00")  # no appointment yet
    assert charge(timedelta(hours=1), timedelta(hours=1), by_customer=False) == D("0.00")  # the tradesperson cancelled
    assert charge(timedelta(hours=1), timedelta(hours=1), deposit="0.01") == D("0.01")  # half a penny rounds half up


money = st.decimals(min_value=D("0.00"), max_value=D("100000.00"), places=2)


@given(
    deposit=money,
    after_s=st.integers(min_value=0, max_value=30 * 86400),
    ahead_s=st.one_of(st.none(), st.integers(min_value=-86400, max_value=30 * 86400)),
    by_customer=st.booleans(),
)
def test_a_fee_is_never_negative_never_more_than_the_deposit_and_always_in_pence(
    deposit: Decimal, after_s: int, ahead_s: int | None, by_customer: bool
) -> None:
    fee = charge(
        timedelta(seconds=after_s), None if ahead_s is None else timedelta(seconds=ahead_s), deposit=str(deposit), by_customer=by_customer
    )
    assert D("0") <= fee <= deposit and fee == fee.quantize(D("0.01"))
    if not by_customer or after_s <= 300:
        assert fee == 0


@given(amount=money, whole=money.filter(lambda v: v > 0), data=st.data())
def test_the_platform_share_is_proportional_and_bounded(amount: Decimal, whole: Decimal, data: st.DataObject) -> None:
    part = data.draw(st.decimals(min_value=D("0.00"), max_value=whole, places=2))
    share = share_of(amount, part, whole)
    assert D("0.00") <= share <= amount and share == share.quantize(D("0.01"))
    assert abs(share - amount * part / whole) <= D("0.005")
    assert share_of(whole, part, whole) == part  # of the whole, exactly the part
