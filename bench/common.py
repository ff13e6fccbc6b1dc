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
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# What Procfile.dev's web line sets for Daphne (`make run`): a psycopg pool instead of a connection per request.
WEB_ENV = {"DATABASE_POOL_SIZE": "8"}
# The table both HTTP write floors insert into (bench/urls.py's DRF create view and bench/http.py's psycopg loop).
FLOOR_TABLE = "bench_http_floor"
# Production mode for every process of a benchmark (this one and the stack it starts): DEBUG off, so no
# query log, no debug cursor, no template/static finders on each request.  Plain HTTP on 127.0.0.1, so
# no HTTPS redirect; the secret is a throwaway.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "PAYMENTS_WEBHOOK_SECRET": "bench-only-webhook-secret",
    # One broker on this machine (production's defaults are 3 and 2, for a cluster of three).
    "KAFKA_REPLICATION_FACTOR": "1",
    "KAFKA_MIN_INSYNC_REPLICAS": "1",
}


def prepare_database(name: str) -> None:
    """Create (once) and select the benchmark's own database, in production mode; call before django.setup()."""
    for name_, value in PRODUCTION_ENV.items():
        os.environ.setdefault(name_, value)
    # The development role that scripts/setup.sh creates (CREATEDB); psql reads the password from the environment.
    psql = ["psql", "-h", "127.0.0.1", "-U", "marketplace", "-d", "marketplace"]
    auth = {**os.environ, "PGPASSWORD": "marketplace"}
    exists = subprocess.run(
        [*psql, "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"], capture_output=True, text=True, check=True, env=auth
    ).stdout.strip()
    if not exists:
        subprocess.run([*psql, "-qc", f"CREATE DATABASE {name}"], check=True, env=auth)
    os.environ["DATABASE_URL"] = f"postgres://marketplace:marketplace@127.0.0.1:5432/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")


def self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def reference_cpu_ms(rounds: int = 5) -> float:
    """CPU ms of a fixed pure-Python workload (JSON, dicts, string formatting), the fastest of ``rounds``.

    This machine is shared: the same code measured an hour apart differs by a third or more.  Each
    run prints this figure before and after, so two runs' CPU figures can be compared through it
    (a run with a reference twice as high ran on a machine twice as slow)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for i in range(4_000):
            row = {"id": i, "title": f"job {i}", "budget": str(i * 3), "tags": [i, i + 1, i + 2], "ok": i % 2 == 0}
            json.loads(json.dumps(row))
        best = min(best, time.process_time() - start)
    return round(best * 1000, 1)


def proc_cpu_ms(pid: int) -> float:
    """User + system CPU of one process (from /proc), in ms; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICKS


def machine_busy_ms() -> float:
    """CPU time every core spent busy since boot (all processes: ours, Postgres, Redis, the broker, the load), in ms."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) * 1000 / CLOCK_TICKS


def process_name(pid: int) -> str:
    """A short name for a process: its command's last word (a consumer's name, 'daphne', 'postgres: ...')."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"
    return cmd.rsplit(" ", 1)[-1] if cmd else "?"


def pids_of(command: str) -> list[int]:
    """Every process whose command line starts with ``command`` (or its path ends with it), e.g. 'postgres'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            first = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode()
        except OSError:
            continue
        if first.startswith(command) or first.rsplit("/", 1)[-1].startswith(command):
            found.append(int(entry.name))
    return found


def wait_quiet(pids: list[int], *, busy_share: float = 0.1, seconds: int = 3, timeout: float = 600) -> float:
    """Wait until ``pids`` together use under ``busy_share`` of a core for ``seconds`` seconds in a row.

    Used to let consumers finish the setup's backlog (e.g. capacity rows for hundreds of new
    tradespeople) before a measurement starts.  Returns the seconds waited.
    """
    start = time.monotonic()
    quiet = 0
    while quiet < seconds and time.monotonic() - start < timeout:
        before = sum(proc_cpu_ms(pid) for pid in pids)
        time.sleep(1)
        quiet = quiet + 1 if sum(proc_cpu_ms(pid) for pid in pids) - before < busy_share * 1000 else 0
    return time.monotonic() - start


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
    with web_servers(name, env, 1, settings_module=settings_module) as (bases, processes):
        yield bases[0], processes[0]


@contextlib.contextmanager
def web_servers(
    name: str, env: dict[str, str], count: int, *, settings_module: str = "bench.settings"
) -> Iterator[tuple[list[str], list[Any]]]:
    """``count`` Daphne processes as ``make run`` starts one, each on its own port: production runs several web
    processes behind a load balancer, and the benchmarks play the balancer, giving each process an equal share of
    the connections (round robin), so that one process's figure and two processes' are comparable."""
    from tests.support import daphne, free_port, wait_until

    full_env = {**env, **WEB_ENV, "DJANGO_SETTINGS_MODULE": settings_module}
    processes: list[Any] = []
    bases: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            processes.append(daphne(port, full_env).start())
            bases.append(f"http://127.0.0.1:{port}")
        for url in [base + "/healthz" for base in bases]:
            wait_until(partial(answers, url), timeout=60, message=f"{name}: daphne to answer {url}")
        yield bases, processes
    finally:
        for process in processes:
            process.terminate()


def session_cookie(user: Any) -> str:
    """A login session for ``user`` (what the browser's sessionid cookie carries)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def wait(seconds: float) -> None:
    time.sleep(max(0.0, seconds))
