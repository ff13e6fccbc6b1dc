"""Writes for scheduling, one module per part: ``workers`` (workers, hours, time off), ``appointments``
(book, reschedule, cancel), ``reminders`` (confirmations and reminders), ``proposals`` (times offered,
one booked), ``dependencies`` (jobs that wait for others, and the flags on appointments that break one),
``dispatching`` (the dispatch board's moves, queue bookings and emergency reserve) and ``common`` (what every
booking change shares).

Every booking change runs in one transaction that also moves the job's status (through
``jobs.services.job_set_status``) and emits an ``appointment.*`` event on the job topic.

The Python check (:func:`scheduling.slots.slot_problem`) gives people a precise reason; the
database's exclusion constraint is the final word on overlaps, so two requests racing for the
same time cannot both win: the loser gets a 409 ``slot_taken`` with the next free slots.

This package's namespace is the scheduling service API the other modules and apps call.
"""

from .appointments import appointment_book, appointment_cancel, appointment_reschedule
from .common import REMINDER_LEADS, SlotUnavailable
from .dependencies import appointment_release, dependency_add, dependency_remove
from .dispatching import appointment_reassign, board_business, emergency_reserve_set, job_dispatch
from .proposals import proposal_accept, proposal_create
from .reminders import appointment_confirm, reminders_send
from .workers import business_profile_saved, time_off_add, worker_for_owner, worker_set_hours

__all__ = [
    "REMINDER_LEADS",
    "SlotUnavailable",
    "appointment_book",
    "appointment_cancel",
    "appointment_confirm",
    "appointment_reassign",
    "appointment_release",
    "appointment_reschedule",
    "board_business",
    "business_profile_saved",
    "dependency_add",
    "dependency_remove",
    "emergency_reserve_set",
    "job_dispatch",
    "proposal_accept",
    "proposal_create",
    "reminders_send",
    "time_off_add",
    "worker_for_owner",
    "worker_set_hours",
]
