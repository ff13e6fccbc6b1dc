"""``jobs.roles.job_role`` plus the one role only scheduling knows: the booked worker.

Workers are scheduling's, so jobs cannot tell that a user is the login of the worker booked on a
job; this module adds that answer on top of ``job_role`` instead of deciding the rest again.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from jobs.models import Job
from jobs.roles import PARTIES, JobRole, job_role
from marketplace.accounts.models import User

from .models import Appointment


def appointment_role(user: User | AnonymousUser | None, job: Job, appointment: Appointment | None) -> JobRole:
    """``job_role``, except that the login of ``appointment``'s worker is ``WORKER``.

    The worker must belong to the awarded business (``job.tradesperson``); the customer and the
    awarded tradesperson keep their own roles even if they are the worker.  Give the job's booked
    appointment (``scheduling.selectors.booked_appointment``), or None when there is none.
    """
    role = job_role(user, job)
    if role in PARTIES or appointment is None or not isinstance(user, User):
        return role
    worker = appointment.worker
    if worker.user_id == user.pk and worker.owner_id == job.tradesperson_id:
        return JobRole.WORKER
    return role
