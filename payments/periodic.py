"""The payments app's periodic tasks (run by ``manage.py clock``).

Release deposit holds whose acceptance never committed; approve finished work whose sign-off window
ended without an answer; the payout run; sending payouts and asking the payout provider about those on
their way; warn when gateway operations wait for an executor that is not taking them
(``manage.py payments_executor`` not running, or stuck).
"""

from __future__ import annotations

import logging

from django.conf import settings

from marketplace.events.periodic import Outcome, PeriodicTask, register

from .approval import payments_auto_approve
from .executor import overdue
from .payouts import payouts_poll, payouts_run, payouts_submit
from .services import payments_reconcile


def _reconcile() -> Outcome:
    released = payments_reconcile()
    return Outcome(released, f"released {released} deposit hold(s) whose acceptance never committed")


def _payout_run() -> Outcome:
    created = payouts_run()
    sent = payouts_submit()
    return Outcome(created, f"created {created} payout(s), sent {sent} to the payout provider")


def _payout_poll() -> Outcome:
    sent = payouts_submit()  # retried by staff, or left pending by a provider outage
    changed = payouts_poll()
    return Outcome(sent + changed, f"sent {sent} payout(s); {changed} moved on at the payout provider")


# A warning when it does anything: each release means a crash between the gateway and our commit.
register(PeriodicTask("payments.release_orphaned_holds", _reconcile, log_level=logging.WARNING))
register(PeriodicTask("payments.payout_run", _payout_run, every_s=settings.PAYOUTS["RUN_EVERY_S"]))
register(PeriodicTask("payments.payout_poll", _payout_poll, every_s=settings.PAYOUTS["POLL_EVERY_S"]))


def _watch_executor() -> Outcome:
    late_by_s = settings.PAYMENTS["EXECUTOR_LEASE_S"]
    waiting = overdue(late_by_s=late_by_s)
    return Outcome(waiting, f"{waiting} gateway operation(s) due over {late_by_s} s ago and not taken: is payments_executor running?")


register(PeriodicTask("payments.overdue_operations", _watch_executor, every_s=60, log_level=logging.WARNING))


def _auto_approve() -> Outcome:
    approved = payments_auto_approve()
    return Outcome(approved, f"approved {approved} finished job(s) whose customer did not answer in time")


register(PeriodicTask("payments.auto_approve", _auto_approve))
