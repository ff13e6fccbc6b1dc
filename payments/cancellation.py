"""The cancellation policy: what a cancelled booking costs the customer. Pure; no database.

Rules, in order (settings.PAYMENTS):

1. The tradesperson cancels: free for the customer, always.
2. The customer cancels within ``FREE_CANCELLATION_MINUTES`` (5) of accepting the quote: free
   (a change of mind right after booking).
3. The customer cancels less than ``LATE_CANCELLATION_HOURS`` (24) before the appointment
   starts: a fee of ``LATE_CANCELLATION_FEE_PERCENT`` (50 %) of the deposit, rounded half up
   once, taken from the held deposit; the rest of the hold is released.
4. Otherwise: free.

"The appointment" is the job's booked appointment (the latest one: cancelling the job cancels
it); a job never booked uses its preferred window start, and one with neither has no
late-cancellation fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PENNY = Decimal("0.01")


@dataclass(frozen=True)
class CancellationTerms:
    free_minutes: int
    late_hours: int
    late_fee_percent: Decimal

    @classmethod
    def from_settings(cls, payments: dict[str, Any]) -> CancellationTerms:
        return cls(
            free_minutes=int(payments["FREE_CANCELLATION_MINUTES"]),
            late_hours=int(payments["LATE_CANCELLATION_HOURS"]),
            late_fee_percent=Decimal(payments["LATE_CANCELLATION_FEE_PERCENT"]),
        )


@dataclass(frozen=True)
class CancellationCharge:
    fee: Decimal
    reason: str


def cancellation_charge(
    *,
    terms: CancellationTerms,
    deposit: Decimal,
    accepted_at: datetime,
    cancelled_at: datetime,
    appointment_start: datetime | None,
    by_customer: bool,
) -> CancellationCharge:
    """The fee (pounds, two places, at most the deposit) and a sentence saying why."""
    zero = Decimal("0.00")
    if not by_customer:
        return CancellationCharge(zero, "Cancelled by the tradesperson: no charge to the customer.")
    if cancelled_at - accepted_at <= timedelta(minutes=terms.free_minutes):
        return CancellationCharge(zero, f"Cancelled within {terms.free_minutes} minutes of booking: free.")
    if appointment_start is not None and appointment_start - cancelled_at < timedelta(hours=terms.late_hours):
        fee = min((deposit * terms.late_fee_percent / 100).quantize(PENNY, rounding=ROUND_HALF_UP), deposit)
        return CancellationCharge(
            fee,
            f"Cancelled less than {terms.late_hours} hours before the appointment: "
            f"a fee of {terms.late_fee_percent.normalize():f}% of the deposit.",
        )
    return CancellationCharge(zero, "Cancelled in good time: free.")
