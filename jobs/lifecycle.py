"""The job state machine: which status may follow which.

    open -> awarded -> scheduled -> in_progress -> completed
    awarded -> in_progress (work started without a booked appointment)
    open -> cancelled | expired;  awarded | scheduled -> cancelled

Services call :func:`check_transition` before changing ``Job.status``; an illegal
step raises a 409 with a message a person can act on.
"""

from __future__ import annotations

from marketplace.errors import ServiceError

from .models import Job

S = Job.Status

TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.AWARDED, S.CANCELLED, S.EXPIRED}),
    S.AWARDED: frozenset({S.SCHEDULED, S.IN_PROGRESS, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.IN_PROGRESS, S.CANCELLED, S.AWARDED}),  # back to awarded when unscheduled
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}


class IllegalTransition(ServiceError):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(
            f"A job that is {S(current).label.lower()} cannot become {S(wanted).label.lower()}.",
            code="illegal_transition",
        )


def can_transition(current: str, wanted: str) -> bool:
    return wanted in TRANSITIONS[current]


def check_transition(job: Job, wanted: str) -> None:
    if not can_transition(job.status, wanted):
        raise IllegalTransition(job.status, wanted)
