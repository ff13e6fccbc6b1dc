"""The periodic-task registry: work nobody's request triggers, run by ``manage.py clock``.

Beside the consumer registry (``registry.py``), and declared the same way, as data: each app registers
its own tasks in ``<app>/periodic.py``, which its ``AppConfig.ready()`` imports (as ``streams.py``
registers stream authorizers).  So the ``clock`` command imports no feature app; it runs what is
registered, in registration order (the order of ``INSTALLED_APPS``).

A task is a name, a callable that takes no arguments and returns an :class:`Outcome` (how much it did
and one line saying so), and an interval: ``every_s=None`` runs it on every tick of the clock
(``CLOCK_INTERVAL_S``), a number of seconds at most that often.  A task must be idempotent and safe
with two clocks running it at once (claim rows with ``SKIP LOCKED``, or change only what is still due).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Outcome:
    count: int  # how much the pass did; the clock logs an outcome only when this is not 0
    summary: str  # for people, e.g. "sent 2 appointment reminder(s)"


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: Callable[[], Outcome]
    every_s: float | None = None  # None: every tick of the clock
    log_level: int = logging.INFO  # the level of the clock's line when the task did something


PERIODIC_TASKS: dict[str, PeriodicTask] = {}


def register(task: PeriodicTask) -> None:
    """Add ``task`` to the clock (registering the same task again changes nothing)."""
    existing = PERIODIC_TASKS.get(task.name)
    if existing is not None and existing != task:
        raise ImproperlyConfigured(f"Two periodic tasks are named {task.name!r}; give one of them another name.")
    PERIODIC_TASKS[task.name] = task


class Schedule:
    """When each task last ran, so a task with ``every_s`` runs at most that often (a fresh schedule runs every task)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_run: dict[str, float] = {}

    def due(self, task: PeriodicTask) -> bool:
        last = self._last_run.get(task.name)
        return task.every_s is None or last is None or self._clock() - last >= task.every_s

    def ran(self, task: PeriodicTask) -> None:
        self._last_run[task.name] = self._clock()


def run_due(schedule: Schedule | None = None) -> Iterator[tuple[PeriodicTask, Outcome]]:
    """Run the due tasks in order, yielding each one's outcome as it finishes; without a schedule, run them all.

    A task that raises ends the pass there, and is due again next time (it is marked run only once it succeeded).
    """
    for task in list(PERIODIC_TASKS.values()):
        if schedule is not None and not schedule.due(task):
            continue
        outcome = task.run()
        if schedule is not None:
            schedule.ran(task)
        yield task, outcome
