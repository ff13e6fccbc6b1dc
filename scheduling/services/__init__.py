"""Writes for scheduling, one module per part: ``workers`` (workers, hours, time off), ``appointments``
(book, reschedule, cancel), ``reminders`` (confirmations, requests for another time and reminders), ``sms_replies`` (a customer's "C" or
"R" texted back to a reminder), ``proposals`` (times offered, one booked), ``team`` (invitations, roles, deactivation),
``dependencies`` (jobs that wait for others, and the flags on appointments that break one), ``dispatching`` (the dispatch
board's moves, queue bookings and emergency reserve) and ``common`` (what every
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
from .reminders import appointment_confirm, appointment_request_reschedule, reminders_send
from .sms_replies import sms_reply_handle
from .team import (
    invitation_accept,
    invitation_for_token,
    invitation_problem,
    invitation_resend,
    invitation_revoke,
    invitation_send,
    member_deactivate,
    member_set_role,
)
from .workers import (
    business_profile_saved,
    calendar_feed_revoke,
    calendar_feed_rotate,
    hours_problem,
    time_off_add,
    time_off_remove,
    worker_for_owner,
    worker_set_hours,
    worker_set_travel_buffer,
)

__all__ = [
    "REMINDER_LEADS",
    "SlotUnavailable",
    "appointment_book",
    "appointment_cancel",
    "appointment_confirm",
    "appointment_reassign",
    "appointment_release",
    "appointment_request_reschedule",
    "appointment_reschedule",
    "board_business",
    "business_profile_saved",
    "calendar_feed_revoke",
    "calendar_feed_rotate",
    "dependency_add",
    "dependency_remove",
    "emergency_reserve_set",
    "hours_problem",
    "invitation_accept",
    "invitation_for_token",
    "invitation_problem",
    "invitation_resend",
    "invitation_revoke",
    "invitation_send",
    "job_dispatch",
    "member_deactivate",
    "member_set_role",
    "proposal_accept",
    "proposal_create",
    "reminders_send",
    "sms_reply_handle",
    "time_off_add",
    "time_off_remove",
    "worker_for_owner",
    "worker_set_hours",
    "worker_set_travel_buffer",
]
