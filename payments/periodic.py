"""The payments app's periodic tasks (run by ``manage.py clock``).

Release deposit holds whose acceptance never committed; warn when gateway operations wait for an
executor that is not taking them (``manage.py payments_executor`` not running, or stuck).
"""

from __future__ import annotations

import logging

from django.conf import settings

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .executor import overdue
from .services import payments_reconcile


def _reconcile() -> Outcome:
    released = payments_reconcile()
    return Outcome(released, f"released {released} deposit hold(s) whose acceptance never committed")


# A warning when it does anything: each release means a crash between the gateway and our commit.
register(PeriodicTask("payments.release_orphaned_holds", _reconcile, log_level=logging.WARNING))


def _watch_executor() -> Outcome:
    late_by_s = settings.PAYMENTS["EXECUTOR_LEASE_S"]
    waiting = overdue(late_by_s=late_by_s)
    return Outcome(waiting, f"{waiting} gateway operation(s) due over {late_by_s} s ago and not taken: is payments_executor running?")


register(PeriodicTask("payments.overdue_operations", _watch_executor, every_s=60, log_level=logging.WARNING))
