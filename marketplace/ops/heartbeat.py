"""Liveness of the long-running processes (relay, consumers, payments executor, clock): a heartbeat file.

Each process's loop calls :meth:`Heartbeat.beat` on every iteration; at most once per
``HEALTH['BEAT_EVERY_S']`` it rewrites ``HEALTH['DIR']/<name>.json`` (atomically: a temporary
file renamed over the old one)::

    {"name": "relay", "pid": 123, "status": "degraded", "at": 1765132800.1, "stale_after": 60.0,
     "detail": {"reason": "broker not acknowledging; backing off", "backlog": 12}}

``python -m marketplace.ops.probe <name>`` (``probe.py``, standard library only, so an exec probe
costs a bare interpreter start, not Django's) reads it and exits 1 when the process is not alive:

- no file, or the file is older than ``stale_after`` seconds: the loop is stuck (a hung call, a
  deadlock, SIGSTOP) or the process is gone;
- ``status`` is ``lost-group``: a consumer has been out of its consumer group for longer than
  ``HEALTH['GROUP_LOST_AFTER_S']`` while the broker answers (a restart rejoins it).

``ok``, ``starting`` and ``degraded`` are alive.  ``degraded`` says a dependency is away (the broker,
the database): the loop is running and backing off, and a restart would not bring the dependency
back, so the probe does not ask for one.  The file is the stable contract other tools may read
(staff alerts, dashboards): its field names do not change.

Why a file and not an HTTP ``/livez`` per process: a server thread keeps answering while the main
loop is stuck, unless it reads a heartbeat anyway; ``consume --all`` runs a dozen children that
would each need a port; and an exec probe works the same in compose (``healthcheck``) and Kubernetes
(``livenessProbe.exec``) with no port opened.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


def heartbeat_path(name: str) -> Path:
    return Path(settings.HEALTH["DIR"]) / f"{name}.json"


class Heartbeat:
    """One process's (or one consumer thread's) heartbeat file."""

    def __init__(self, name: str, *, stale_after: float | None = None) -> None:
        self.name = name
        self.path = heartbeat_path(name)
        self.stale_after = float(stale_after if stale_after is not None else settings.HEALTH["STALE_AFTER_S"])
        self.every = float(settings.HEALTH["BEAT_EVERY_S"])
        self.status = "starting"
        self.detail: dict[str, Any] = {}
        self._written_at = 0.0
        self._written_status = ""
        self._warned = False

    def beat(self, status: str = "ok", **detail: Any) -> None:
        """Say the loop went round; written at most every ``BEAT_EVERY_S``, at once when the status changes."""
        changed = status != self._written_status
        self.status, self.detail = status, detail
        now = time.monotonic()
        if not changed and now - self._written_at < self.every:
            return
        if changed and self._written_status:
            log.info("health: %s is %s %s", self.name, status, detail or "")
        self._write()
        self._written_at = now
        self._written_status = status

    def touch(self) -> None:
        """Still going round, in a bounded wait (for the broker's acknowledgements): the status stays.

        Only once the loop has beaten: a one-off use outside the loop (``outbox_relay --once``) writes nothing.
        """
        if self._written_status:
            self.beat(self.status, **self.detail)

    def _write(self) -> None:
        record = {
            "name": self.name,
            "pid": os.getpid(),
            "status": self.status,
            "at": time.time(),
            "stale_after": self.stale_after,
            "detail": self.detail,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, prefix=f".{self.name}.", delete=False) as tmp:
                json.dump(record, tmp, default=str)
            os.replace(tmp.name, self.path)
        except OSError as exc:  # a full or read-only disk must not stop the work; the probe will say so
            if not self._warned:
                log.error("health: cannot write %s (%s); this process's liveness probe will fail", self.path, exc)
                self._warned = True

    def remove(self) -> None:
        """On a clean exit: no file, so nothing mistakes a stopped process for a live one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("health: cannot remove %s (%s)", self.path, exc)
