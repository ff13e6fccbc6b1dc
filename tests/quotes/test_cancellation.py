"""The cancellation policy and the platform's share: pure functions, examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from marketplace.money import share_of
from payments.cancellation import Booking, CancellationCharge, CancellationTerms, cancellation_charge, cancellation_outlook, judged_start

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


# --- cannot be gamed: the booking history (issue 19, item 5) ----------------------------------------

H = timedelta(hours=1)
ACCEPTED = BOOKED
TUESDAY_10 = BOOKED + 49 * H  # booked two days ahead


def judged(cancelled_at: datetime, *bookings: Booking, deposit: str = "34.80", **flags: bool) -> CancellationCharge:
    return cancellation_charge(
        terms=TERMS,
        deposit=D(deposit),
        accepted_at=ACCEPTED,
        cancelled_at=cancelled_at,
        appointment_start=None,
        by_customer=flags.pop("by_customer", True),
        bookings=bookings,
        **flags,
    )


def test_moving_the_appointment_late_then_cancelling_still_costs_the_late_fee() -> None:
    # Booked for Tuesday 10:00; 22 h before, the customer moves it a week on, then cancels an hour later.
    moved_at = TUESDAY_10 - 22 * H
    history = (
        Booking(TUESDAY_10, ACCEPTED + H, ended_at=moved_at, ended_by_customer=True),
        Booking(TUESDAY_10 + 7 * 24 * H, moved_at),
    )
    result = judged(moved_at + H, *history)
    assert result.fee == D("17.40") and result.rule == "late"
    assert "moved less than 24 hours before it started" in result.reason
    # The earliest start booked in the window is the one judged.
    assert judged_start(terms=TERMS, bookings=history, cancelled_at=moved_at + H, fallback=None) == TUESDAY_10


def test_moving_it_in_good_time_then_cancelling_in_good_time_is_free() -> None:
    moved_at = TUESDAY_10 - 30 * H  # more than 24 h before
    history = (
        Booking(TUESDAY_10, ACCEPTED + H, ended_at=moved_at, ended_by_customer=True),
        Booking(TUESDAY_10 + 7 * 24 * H, moved_at),
    )
    assert judged(moved_at + H, *history).fee == D("0.00")
    # ...but cancelling within 24 h of the new time is late, as always.
    assert judged(TUESDAY_10 + 7 * 24 * H - 2 * H, *history).fee == D("17.40")


def test_a_late_move_by_the_tradesperson_never_counts_against_the_customer() -> None:
    moved_at = TUESDAY_10 - 2 * H
    history = (
        Booking(TUESDAY_10, ACCEPTED + H, ended_at=moved_at, ended_by_customer=False),
        Booking(TUESDAY_10 + 7 * 24 * H, moved_at),
    )
    assert judged(moved_at + H, *history).fee == D("0.00")


def test_cancelling_the_appointment_late_then_the_job_later_is_still_late() -> None:
    # The customer cancels the appointment 3 h before (the job goes back to awarded), then the job next week.
    dropped_at = TUESDAY_10 - 3 * H
    history = (Booking(TUESDAY_10, ACCEPTED + H, ended_at=dropped_at, ended_by_customer=True),)
    assert judged(TUESDAY_10 + 5 * 24 * H, *history).fee == D("17.40")


def test_the_earliest_of_several_late_moves_is_judged() -> None:
    first_move, second_move = TUESDAY_10 - 20 * H, TUESDAY_10 - 10 * H
    history = (
        Booking(TUESDAY_10, ACCEPTED + H, ended_at=first_move, ended_by_customer=True),
        Booking(TUESDAY_10 + 2 * H, first_move, ended_at=second_move, ended_by_customer=True),
        Booking(TUESDAY_10 + 30 * 24 * H, second_move),
    )
    assert judged_start(terms=TERMS, bookings=history, cancelled_at=second_move + H, fallback=None) == TUESDAY_10


def test_no_shows() -> None:
    history = (Booking(TUESDAY_10, ACCEPTED + H),)
    late_pro = judged(TUESDAY_10 + H, *history, pro_no_show=True)
    assert (late_pro.fee, late_pro.rule) == (D("0.00"), "no_show_pro")  # free, though within 24 h
    absent = judged(TUESDAY_10 + H, *history, by_customer=False, customer_no_show=True)
    assert (absent.fee, absent.rule) == (D("30.00"), "no_show_customer")
    assert "waited 15 minutes" in absent.reason and "£30.00" in absent.reason
    # The call-out fee is never more than the deposit held.
    assert judged(TUESDAY_10 + H, *history, deposit="12.00", by_customer=False, customer_no_show=True).fee == D("12.00")


def test_the_outlook_says_until_when_cancelling_is_free_and_what_it_costs_after() -> None:
    history = (Booking(TUESDAY_10, ACCEPTED + H),)
    kw = {"terms": TERMS, "deposit": D("34.80"), "accepted_at": ACCEPTED, "appointment_start": None, "bookings": history}
    early = cancellation_outlook(now=ACCEPTED + 2 * H, **kw)  # type: ignore[arg-type]
    assert (early.fee_now, early.free_until, early.fee_after) == (D("0.00"), TUESDAY_10 - 24 * H, D("17.40"))
    late = cancellation_outlook(now=TUESDAY_10 - 2 * H, **kw)  # type: ignore[arg-type]
    assert (late.fee_now, late.free_until) == (D("17.40"), None)
    assert "less than 24 hours" in late.reason_now


@given(
    moves=st.lists(st.tuples(st.integers(1, 200), st.integers(-48, 400), st.booleans()), min_size=1, max_size=5),
    cancel_after_h=st.integers(0, 600),
)
def test_no_sequence_of_moves_makes_a_late_cancellation_cheaper_than_not_moving(
    moves: list[tuple[int, int, bool]], cancel_after_h: int
) -> None:
    """Whatever the customer moves, a cancellation is at least as dear as cancelling the first booking at the first move."""
    start = ACCEPTED + 100 * H
    history: list[Booking] = []
    booked_at = ACCEPTED + H
    for gap_h, new_start_h, by_customer in moves:
        moved_at = booked_at + gap_h * H
        history.append(Booking(start, booked_at, ended_at=moved_at, ended_by_customer=by_customer))
        start, booked_at = moved_at + new_start_h * H + 48 * H, moved_at
    history.append(Booking(start, booked_at))
    cancelled_at = booked_at + cancel_after_h * H
    fee = judged(cancelled_at, *history).fee
    for b in history[:-1]:
        assert b.ended_at is not None
        if b.ended_by_customer and b.starts_at - b.ended_at < 24 * H:
            assert fee == D("17.40")  # a late move by the customer is remembered
    if history[-1].starts_at - cancelled_at < 24 * H:
        assert fee == D("17.40")
