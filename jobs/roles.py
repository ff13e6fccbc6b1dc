"""Who a user is on a job: the one answer every app asks for.

``job_role(user, job)`` decides it from the job row (its ``customer`` and, once awarded, its
``tradesperson``, stored by ``job_award``) and, only for someone who is neither, the lead ledger.
Apps turn the role into their own rules (who may schedule, chat, follow the visit, read the
timeline); they do not derive it again.

The roles, first match wins:

- ``CUSTOMER``: posted the job;
- ``TRADESPERSON``: the tradesperson whose bid was accepted (the awarded business's owner);
- ``WORKER``: the login of the worker booked on the job's appointment. Workers live in
  scheduling, so jobs never answers it: ``scheduling.roles.appointment_role`` does, on top of
  this function;
- ``BIDDER``: a tradesperson who was offered the job as a lead (every bid starts from one) and was
  not awarded it: still bidding, or lost, withdrew or never bid. Whether they actually bid is a
  separate question (chat asks it);
- ``STAFF``: staff with no other part in the job. A staff member who is also a party gets the
  party's role, so a rule that grants staff something checks ``user.is_staff`` as well;
- ``NONE``: anyone else, including an anonymous user.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser

from marketplace.accounts.models import User

from .models import Job, Lead


class JobRole(StrEnum):
    CUSTOMER = "customer"
    TRADESPERSON = "tradesperson"
    WORKER = "worker"
    BIDDER = "bidder"
    STAFF = "staff"
    NONE = "none"


# The two sides of an awarded job: who may schedule it, cancel it, pay or be paid for it.
PARTIES = frozenset({JobRole.CUSTOMER, JobRole.TRADESPERSON})


def job_role(user: User | AnonymousUser | None, job: Job) -> JobRole:
    """``user``'s role on ``job`` (see the module docstring).

    No query for the job's customer, its awarded tradesperson or an anonymous user; one (the
    lead ledger) for anyone else. Reads the ``job`` instance as given: pass a fresh or locked
    row where the award may just have happened.
    """
    if not isinstance(user, User) or not user.is_authenticated:
        return JobRole.NONE
    if user.pk == job.customer_id:
        return JobRole.CUSTOMER
    if job.tradesperson_id is not None and user.pk == job.tradesperson_id:
        return JobRole.TRADESPERSON
    if user.is_tradesperson and Lead.objects.filter(job_id=job.pk, tradesperson_id=user.pk).exists():
        return JobRole.BIDDER
    if user.is_staff:
        return JobRole.STAFF
    return JobRole.NONE
