"""What a user may do for which business: the one answer every page and API asks for.

A business is its owner's login (a tradesperson).  Its other logins are team members (user role
``team``), each tied to one :class:`~scheduling.models.Worker` whose ``role`` says what they may do:

=============  ==============================================================================
owner          everything: leads, quotes, money, insights, profile, the team, calendar, dispatch
dispatcher     the calendar and dispatch board of the business (assigning work); no money,
               insights, profile or team
technician     their own day (``/my-day/``, ``GET /api/me/appointments/``) and the visits of the
               jobs they are booked on (``scheduling.roles.appointment_role`` -> ``WORKER``)
=============  ==============================================================================

A deactivated member has no membership (and their login is switched off by
``scheduling.services.member_deactivate``).  Reads only: nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser

from marketplace.accounts.models import User

from .models import Worker

Role = Worker.Role


@dataclass(frozen=True)
class Membership:
    business: User
    role: Worker.Role
    worker: Worker | None  # None for an owner whose own worker is not made yet (worker_for_owner makes it)


def membership(user: User | AnonymousUser | None) -> Membership | None:
    """``user``'s business and role in it, or None (a customer, staff alone, an anonymous or deactivated user).

    A tradesperson is the owner of their own business; a team login is what its active worker says.
    One query at most.
    """
    if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
        return None
    if user.is_tradesperson:
        own = Worker.objects.filter(owner=user, user=user).first()
        return Membership(business=user, role=Role.OWNER, worker=own)
    if not user.is_team_member:
        return None
    worker = Worker.objects.filter(user=user, active=True).exclude(role=Role.OWNER).select_related("owner").first()
    if worker is None or not worker.owner.is_active:
        return None
    return Membership(business=worker.owner, role=Role(worker.role), worker=worker)


def dispatch_business(user: User | AnonymousUser | None) -> User | None:
    """The business whose calendar and dispatch board ``user`` may run: the owner themself, or a dispatcher's business."""
    member = membership(user)
    if member is None or member.role not in (Role.OWNER, Role.DISPATCHER):
        return None
    return member.business


def can_dispatch(user: User | AnonymousUser | None, business: User) -> bool:
    """May ``user`` see and change ``business``'s schedule (assign, move, book workers)?"""
    found = dispatch_business(user)
    return found is not None and found.pk == business.pk


def can_see_money(user: User | AnonymousUser | None, business: User) -> bool:
    """May ``user`` see ``business``'s money and insights (and its leads, quotes, profile and team)? Only its owner."""
    return isinstance(user, User) and user.is_tradesperson and user.pk == business.pk


def own_worker(user: User | AnonymousUser | None) -> Worker | None:
    """The worker whose day ``user`` sees on "My day": a member's own worker, or an owner's own worker (if made)."""
    member = membership(user)
    return member.worker if member is not None else None
