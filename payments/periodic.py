"""The payments app's periodic tasks (run by ``manage.py clock``): release deposit holds whose acceptance never
committed; approve finished work whose sign-off window ended without an answer."""

from __future__ import annotations

import logging

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .approval import payments_auto_approve
from .services import payments_reconcile


def _reconcile() -> Outcome:
    released = payments_reconcile()
    return Outcome(released, f"released {released} deposit hold(s) whose acceptance never committed")


# A warning when it does anything: each release means a crash between the gateway and our commit.
register(PeriodicTask("payments.release_orphaned_holds", _reconcile, log_level=logging.WARNING))


def _auto_approve() -> Outcome:
    approved = payments_auto_approve()
    return Outcome(approved, f"approved {approved} finished job(s) whose customer did not answer in time")


register(PeriodicTask("payments.auto_approve", _auto_approve))
