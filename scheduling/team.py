"""Who may run which business's dispatch board: the one answer every board page, API and service asks.

:func:`dispatch_business` is the single permission question for dispatching (moving appointments,
booking the unassigned queue, setting the emergency reserve).  For now the business is the
tradesperson themself; team roles (a dispatcher working for someone else's business) plug in here
without any caller changing.
"""

from __future__ import annotations

from marketplace.accounts.models import User


def dispatch_business(user: User) -> User | None:
    """The business (its owner's user) whose board ``user`` may run, or ``None`` if they may run none."""
    if user.is_authenticated and user.is_active and user.is_tradesperson:
        return user
    return None
