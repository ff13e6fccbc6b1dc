"""Shared helpers for the benchmark modules: the bench database, process CPU and memory, percentiles, the stack."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# What Procfile.dev's web line sets for Daphne (`make run`): a psycopg pool instead of a connection per request.
WEB_ENV = {"DATABASE_POOL_SIZE": "8"}


def prepare_database(name: str) -> None:
    """Create (once) and select the benchmark's own database; call before django.setup()."""
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")


def self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def proc_cpu_ms(pid: int) -> float:
    """User + system CPU of one process (from /proc), in ms; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of one process, in MB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid``."""
    result = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            result.append(int(entry.name))
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)  # noqa: S310 - our own http://127.0.0.1 URL
        return True
    except OSError as exc:  # an HTTP error status still means the server answers
        return hasattr(exc, "code")


@contextlib.contextmanager
def web_server(name: str, env: dict[str, str], *, settings_module: str = "bench.settings") -> Iterator[tuple[str, Any]]:
    """Daphne exactly as ``make run`` starts it (Procfile.dev), with the bench settings (one extra floor URL)."""
    from tests.support import daphne, free_port, wait_until

    port = free_port()
    process = daphne(port, {**env, **WEB_ENV, "DJANGO_SETTINGS_MODULE": settings_module}).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(base + "/healthz"), timeout=60, message=f"{name}: daphne to listen")
        yield base, process
    finally:
        process.terminate()


def session_cookie(user: Any) -> str:
    """A login session for ``user`` (what the browser's sessionid cookie carries)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def wait(seconds: float) -> None:
    time.sleep(max(0.0, seconds))
