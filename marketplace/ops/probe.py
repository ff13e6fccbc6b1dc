"""The liveness probe of the long-running processes: ``python -m marketplace.ops.probe NAME [NAME ...]``.

Exits 0 when every named process is alive, 1 when one is not, with one line each saying why.
Reads the heartbeat files ``heartbeat.py`` writes, in ``$HEALTH_DIR`` (default ``var/health`` in the
project directory, as ``settings.HEALTH['DIR']``).  Standard library only and no Django set-up, so
an exec probe (compose ``healthcheck``, Kubernetes ``livenessProbe.exec``) costs tens of milliseconds.

Names: ``relay``, ``clock``, ``payments-executor``, ``consumer-<group name>`` (``consume --all`` writes
one per consumer, so ``consumer-*`` probes them all).
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
from pathlib import Path

ALIVE = frozenset({"ok", "starting", "degraded"})
DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "var" / "health"


def health_dir() -> Path:
    return Path(os.environ.get("HEALTH_DIR") or DEFAULT_DIR)


def check(name: str, directory: Path, now: float | None = None) -> tuple[bool, str]:
    """(alive, one line saying why) for one heartbeat file."""
    path = directory / f"{name}.json"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return False, f"{name}: no heartbeat in {directory} (not started, or stopped)"
    except (OSError, ValueError) as exc:
        return False, f"{name}: unreadable heartbeat ({exc})"
    age = (time.time() if now is None else now) - float(record.get("at", 0))
    stale_after = float(record.get("stale_after", 60))
    status = str(record.get("status", ""))
    detail = record.get("detail") or {}
    reason = f" ({detail['reason']})" if isinstance(detail, dict) and detail.get("reason") else ""
    if age > stale_after:
        return False, f"{name}: stuck, last heartbeat {age:.0f} s ago (limit {stale_after:.0f} s), pid {record.get('pid')}"
    if status not in ALIVE:
        return False, f"{name}: {status}{reason}"
    return True, f"{name}: {status}{reason}, {age:.1f} s ago"


def names_matching(patterns: list[str], directory: Path) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            found = sorted(p.stem for p in directory.glob("*.json") if fnmatch.fnmatch(p.stem, pattern))
            names += found or [pattern]  # nothing matched: report the pattern as missing
        else:
            names.append(pattern)
    return names


def main(argv: list[str] | None = None) -> int:
    patterns = sys.argv[1:] if argv is None else argv
    if not patterns:
        print("usage: python -m marketplace.ops.probe NAME [NAME ...]  (relay, clock, payments-executor, consumer-<name>, consumer-*)")
        return 2
    directory = health_dir()
    alive = True
    for name in names_matching(patterns, directory):
        ok, line = check(name, directory)
        alive = alive and ok
        print(line)
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
