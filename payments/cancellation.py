"""The cancellation policy: what a cancelled booking costs the customer. Pure; no database.

Rules, in order (figures in settings.PAYMENTS):

1. The customer was not there: the tradesperson waited ``CUSTOMER_NO_SHOW_WAIT_MINUTES`` (15) on
   site (arrival by the geofence) and cancelled: a call-out fee of ``CALL_OUT_FEE`` (at most the
   deposit), taken from the held deposit.
2. Otherwise the tradesperson cancels: free for the customer, always.
3. The tradesperson was a no-show: not arrived ``PRO_LATE_MINUTES`` (30) after the start: the
   customer cancels free (and it counts against the tradesperson).
4. The customer cancels within ``FREE_CANCELLATION_MINUTES`` (5) of accepting the quote: free
   (a change of mind right after booking).
5. The customer cancels less than ``LATE_CANCELLATION_HOURS`` (24) before the appointment it is
   judged against: a fee of ``LATE_CANCELLATION_FEE_PERCENT`` (50 %) of the deposit, rounded half
   up once, taken from the held deposit; the rest of the hold is released.
6. Otherwise: free.

Which appointment a cancellation is judged against (:func:`judged_start`), so that moving it
cannot dodge the fee: every start the job was booked for is kept (``scheduling.BookedTime``);
the booking standing when the customer cancels counts, and so does every booking the customer
moved or cancelled less than ``LATE_CANCELLATION_HOURS`` before its start (rescheduling within
24 h counts as late). The earliest of those is the one. A job never booked uses its preferred
window start; one with neither has no late-cancellation fee. Moves by the tradesperson never
count against the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marketplace.money import format_money

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CancellationTerms:
    free_minutes: int
    late_hours: int
    late_fee_percent: Decimal
    pro_late_minutes: int = 30
    customer_wait_minutes: int = 15
    call_out_fee: Decimal = Decimal("30.00")

    @classmethod
    def from_settings(cls, payments: dict[str, Any]) -> CancellationTerms:
        return cls(
            free_minutes=int(payments["FREE_CANCELLATION_MINUTES"]),
            late_hours=int(payments["LATE_CANCELLATION_HOURS"]),
            late_fee_percent=Decimal(payments["LATE_CANCELLATION_FEE_PERCENT"]),
            pro_late_minutes=int(payments["PRO_NO_SHOW_MINUTES"]),
            customer_wait_minutes=int(payments["CUSTOMER_NO_SHOW_WAIT_MINUTES"]),
            call_out_fee=Decimal(payments["CALL_OUT_FEE"]),
        )

    def late_fee(self, deposit: Decimal) -> Decimal:
        return min((deposit * self.late_fee_percent / 100).quantize(PENNY, rounding=ROUND_HALF_UP), deposit)

    def call_out(self, deposit: Decimal) -> Decimal:
        return min(self.call_out_fee.quantize(PENNY, rounding=ROUND_HALF_UP), deposit)


@dataclass(frozen=True)
class Booking:
    """One start the job was booked for; ``ended_at`` when it was moved or cancelled, and whether the customer did it."""

    starts_at: datetime
    booked_at: datetime
    ended_at: datetime | None = None
    ended_by_customer: bool = False


@dataclass(frozen=True)
class CancellationCharge:
    fee: Decimal
    reason: str
    # The rule that decided: "no_show_customer", "by_tradesperson", "no_show_pro", "change_of_mind", "late", "in_good_time".
    rule: str = ""


def judged_start(
    *, terms: CancellationTerms, bookings: Sequence[Booking], cancelled_at: datetime, fallback: datetime | None
) -> datetime | None:
    """The appointment start a customer's cancellation at ``cancelled_at`` is judged against (see the module docstring)."""
    if not bookings:
        return fallback
    window = timedelta(hours=terms.late_hours)
    starts = [
        b.starts_at
        for b in bookings
        if b.booked_at <= cancelled_at
        and (b.ended_at is None or b.ended_at >= cancelled_at or (b.ended_by_customer and b.starts_at - b.ended_at < window))
    ]
    return min(starts) if starts else None


def cancellation_charge(
    *,
    terms: CancellationTerms,
    deposit: Decimal,
    accepted_at: datetime,
    cancelled_at: datetime,
    appointment_start: datetime | None,
    by_customer: bool,
    bookings: Sequence[Booking] = (),
    pro_no_show: bool = False,
    customer_no_show: bool = False,
) -> CancellationCharge:
    """The fee (pounds, two places, at most the deposit) and a sentence saying why.

    ``appointment_start`` is the fallback for a job never booked (its preferred window start);
    ``bookings`` is the job's booking history (:class:`Booking`).
    """
    if customer_no_show:
        return CancellationCharge(
            terms.call_out(deposit),
            f"The customer was not there after the tradesperson waited {terms.customer_wait_minutes} minutes on site: "
            f"a call-out fee of {format_money(terms.call_out_fee)}.",
            "no_show_customer",
        )
    if not by_customer:
        return CancellationCharge(ZERO, "Cancelled by the tradesperson: no charge to the customer.", "by_tradesperson")
    if pro_no_show:
        return CancellationCharge(
            ZERO, f"The tradesperson had not arrived {terms.pro_late_minutes} minutes after the start: free.", "no_show_pro"
        )
    if cancelled_at - accepted_at <= timedelta(minutes=terms.free_minutes):
        return CancellationCharge(ZERO, f"Cancelled within {terms.free_minutes} minutes of booking: free.", "change_of_mind")
    start = judged_start(terms=terms, bookings=bookings, cancelled_at=cancelled_at, fallback=appointment_start)
    if start is not None and start - cancelled_at < timedelta(hours=terms.late_hours):
        moved = any(b.ended_by_customer and b.ended_at is not None and b.ended_at < cancelled_at and b.starts_at == start for b in bookings)
        fee_text = f"a fee of {terms.late_fee_percent.normalize():f}% of the deposit."
        if moved:
            reason = f"The appointment was moved less than {terms.late_hours} hours before it started, which counts as late: {fee_text}"
        else:
            reason = f"Cancelled less than {terms.late_hours} hours before the appointment: {fee_text}"
        return CancellationCharge(terms.late_fee(deposit), reason, "late")
    return CancellationCharge(ZERO, "Cancelled in good time: free.", "in_good_time")


@dataclass(frozen=True)
class CancellationOutlook:
    """What cancelling costs the customer now and later, for the page that offers the button."""

    fee_now: Decimal
    reason_now: str
    free_until: datetime | None  # when cancelling stops being free (None: it is not free now, or stays free)
    fee_after: Decimal  # the fee from free_until on


def cancellation_outlook(
    *,
    terms: CancellationTerms,
    deposit: Decimal,
    accepted_at: datetime,
    now: datetime,
    appointment_start: datetime | None,
    bookings: Sequence[Booking] = (),
    pro_no_show: bool = False,
) -> CancellationOutlook:
    """What a customer cancelling at ``now`` pays, and, if that is free, until when and what it costs after."""
    charge = cancellation_charge(
        terms=terms,
        deposit=deposit,
        accepted_at=accepted_at,
        cancelled_at=now,
        appointment_start=appointment_start,
        by_customer=True,
        bookings=bookings,
        pro_no_show=pro_no_show,
    )
    if charge.fee > 0 or pro_no_show:
        return CancellationOutlook(charge.fee, charge.reason, None, charge.fee)
    start = judged_start(terms=terms, bookings=bookings, cancelled_at=now, fallback=appointment_start)
    if start is None:
        return CancellationOutlook(charge.fee, charge.reason, None, ZERO)
    free_until = max(start - timedelta(hours=terms.late_hours), accepted_at + timedelta(minutes=terms.free_minutes))
    return CancellationOutlook(charge.fee, charge.reason, free_until, terms.late_fee(deposit))
