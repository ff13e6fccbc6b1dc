"""The payments app's periodic task (run by ``manage.py clock``): release deposit holds whose acceptance never committed."""

from __future__ import annotations

import logging

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .services import payments_reconcile


def _reconcile() -> Outcome:
    released = payments_reconcile()
    return Outcome(released, f"released {released} deposit hold(s) whose acceptance never committed")


# A warning when it does anything: each release means a crash between the gateway and our commit.
register(PeriodicTask("payments.release_orphaned_holds", _reconcile, log_level=logging.WARNING))
