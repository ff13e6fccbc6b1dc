"""HTTP: job POST through DRF beside a hello-world JSON view and a bare psycopg INSERT+COMMIT loop.

    python -m bench.http [--seconds S] [--concurrency C] [--smoke]

(Run it as a module from the repository root: a script in bench/ named http.py would shadow the
standard library's ``http`` package.)  Own database (marketplace_bench_web), Daphne started exactly
as ``make run`` starts it but with ``bench.settings`` (production settings plus one bench-only URL,
``/bench/hello/``, behind the same middleware).  The load generator is C threads in this process, each
with one keep-alive ``http.client`` connection, sending back to back for S seconds per figure; the
hello-world and job-POST runs alternate in two halves so a noisy neighbour hits both alike.

- floor: ``GET /bench/hello/``, a Django view returning ``{"hello": "world"}`` (full middleware stack,
  session-less, anonymous).
- job POST: ``POST /api/jobs/`` with token auth: validation, the Redis rate limiter, the job and its
  ``job.posted`` outbox row committed in one transaction, the serialized job back (201).
- floor: ``POST /bench/drf-create/`` (bench/urls.py), the least a create endpoint does on this stack: DRF
  with the same token authentication, a plain serializer over the same fields, one row inserted and
  committed, 201.  The job POST's cost above it is the project's own (model, rate limit, event, response).
- floor: C threads each looping ``INSERT ... ; COMMIT`` on its own psycopg connection (the database's
  ceiling for one small committed write).
- scaling out: the job POST again with two Daphne processes, C connections to each (this process plays the
  load balancer), beside the one-process figure: how far a second web process carries on this machine.

CPU ms per request is Daphne's own CPU (utime + stime from /proc) over the run divided by requests;
the psycopg floor's is this process's CPU.  Uvicorn or gunicorn+uvicorn workers would give other
numbers (Daphne is single-threaded Twisted and runs each sync Django view in a thread); we measure
what ``make run`` and the Procfile deploy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
import uuid
from typing import Any

from bench.common import FLOOR_TABLE, percentile, prepare_database, proc_cpu_ms, self_cpu_ms, web_server, web_servers, write_results

BENCH_DB = "marketplace_bench_web"
JOB = {"trade": "plumbing", "title": "Leaking tap", "description": "Kitchen tap drips.", "latitude": "51.5362", "longitude": "-0.1033"}


def load(
    base: str, method: str, path: str, body: bytes | None, headers: dict[str, str], seconds: float, concurrency: int
) -> dict[str, Any]:
    """C keep-alive connections sending back to back for ``seconds``; returns count, statuses, latencies."""
    host, port = base.removeprefix("http://").split(":")
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - t0) * 1000)
            codes[response.status] = codes.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"elapsed": time.perf_counter() - t0, "statuses": statuses, "latencies": latencies}


def load_spread(bases: list[str], *args: Any) -> dict[str, Any]:
    """:func:`load` against every base at once (C connections each), merged."""
    outcomes: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda base=base: outcomes.append(load(base, *args))) for base in bases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses: dict[int, int] = {}
    for outcome in outcomes:
        for code, count in outcome["statuses"].items():
            statuses[code] = statuses.get(code, 0) + count
    return {
        "elapsed": max(o["elapsed"] for o in outcomes),
        "statuses": statuses,
        "latencies": [v for o in outcomes for v in o["latencies"]],
        "per_process": [len(o["latencies"]) for o in outcomes],
    }


def create_floor_table(dsn: str) -> None:
    """The table both write floors insert into (the DRF floor view and the psycopg loop), emptied."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, title text, payload jsonb, at timestamptz)")
        conn.execute(f"TRUNCATE {FLOOR_TABLE}")


def psycopg_floor(dsn: str, seconds: float, concurrency: int) -> dict[str, Any]:
    import psycopg

    create_floor_table(dsn)
    count = [0] * concurrency
    stop = time.perf_counter() + seconds
    payload = json.dumps(JOB)

    def worker(i: int) -> None:
        with psycopg.connect(dsn) as conn:
            while time.perf_counter() < stop:
                conn.execute(f"INSERT INTO {FLOOR_TABLE} (title, payload, at) VALUES (%s, %s, now())", ("Leaking tap", payload))
                conn.commit()
                count[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    t0, c0 = time.perf_counter(), self_cpu_ms()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - t0, self_cpu_ms() - c0
    total = sum(count)
    return {"requests_per_s": total / elapsed, "cpu_ms_per_op": cpu / max(total, 1), "ops": total}


def run(seconds: float, concurrency: int) -> dict[str, Any]:
    prepare_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command

    from jobs.models import Job
    from marketplace.accounts.models import User
    from marketplace.accounts.services import api_token_create
    from marketplace.events.models import OutboxEvent
    from tests.factories import sample_answers, trade
    from tests.support import subprocess_env

    call_command("migrate", verbosity=0)
    create_floor_table(os.environ["DATABASE_URL"])
    answers = sample_answers(trade())  # the trade's questions, if staff gave it any
    customer = User.objects.create_user(f"bench_http_{uuid.uuid4().hex[:8]}", password="x", role=User.Role.CUSTOMER)
    token = api_token_create(user=customer)[1]
    env = subprocess_env(None)
    results: dict[str, Any] = {}
    post_headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    body = json.dumps({**JOB, "answers": answers}).encode()
    with web_server("http", env) as (base, server):
        assert server.proc is not None
        pid = server.proc.pid
        # Warm up both paths (imports, first DB connection, URL resolver caches).
        load(base, "GET", "/bench/hello/", None, {}, 1.0, concurrency)
        load(base, "POST", "/api/jobs/", body, post_headers, 1.0, concurrency)
        load(base, "POST", "/bench/drf-create/", body, post_headers, 1.0, concurrency)
        jobs_before, outbox_before = Job.objects.count(), OutboxEvent.objects.count()
        totals: dict[str, dict[str, Any]] = {
            name: {"n": 0, "elapsed": 0.0, "cpu": 0.0, "latencies": [], "statuses": {}} for name in ("hello", "drf_floor", "post")
        }
        for _half in range(2):
            for name, method, path, data, headers in (
                ("hello", "GET", "/bench/hello/", None, {}),
                ("drf_floor", "POST", "/bench/drf-create/", body, post_headers),
                ("post", "POST", "/api/jobs/", body, post_headers),
            ):
                c0 = proc_cpu_ms(pid)
                outcome = load(base, method, path, data, headers, seconds / 2, concurrency)
                row = totals[name]
                row["cpu"] += proc_cpu_ms(pid) - c0
                row["elapsed"] += outcome["elapsed"]
                row["latencies"].extend(outcome["latencies"])
                for code, count in outcome["statuses"].items():
                    row["statuses"][code] = row["statuses"].get(code, 0) + count
                row["n"] += len(outcome["latencies"])
        created = Job.objects.count() - jobs_before
        outboxed = OutboxEvent.objects.count() - outbox_before
    for name, row in totals.items():
        results[name] = {
            "requests_per_s": row["n"] / row["elapsed"],
            "cpu_ms_per_op": row["cpu"] / max(row["n"], 1),
            "p50_ms": percentile(row["latencies"], 50),
            "p99_ms": percentile(row["latencies"], 99),
            "requests": row["n"],
            "statuses": {str(k): v for k, v in row["statuses"].items()},
        }
    assert results["hello"]["statuses"] == {"200": results["hello"]["requests"]}, results["hello"]["statuses"]
    assert results["post"]["statuses"] == {"201": results["post"]["requests"]}, results["post"]["statuses"]
    assert results["drf_floor"]["statuses"] == {"201": results["drf_floor"]["requests"]}, results["drf_floor"]["statuses"]
    assert created == outboxed == results["post"]["requests"], (created, outboxed, results["post"]["requests"])
    results["post"]["ratio_to_floor"] = results["post"]["requests_per_s"] / results["hello"]["requests_per_s"]
    results["post"]["target_ratio_to_drf_floor"] = 0.8
    results["drf_floor"]["ratio_to_hello"] = results["drf_floor"]["requests_per_s"] / results["hello"]["requests_per_s"]
    results["post"]["ratio_to_drf_floor"] = results["post"]["requests_per_s"] / results["drf_floor"]["requests_per_s"]
    # Scaling out: the same POST on two web processes.
    with web_servers("http-2", env, 2) as (bases, servers):
        pids = [server.proc.pid for server in servers]
        load_spread(bases, "POST", "/api/jobs/", body, post_headers, 1.0, concurrency)  # warm-up, as above
        c0 = sum(proc_cpu_ms(pid) for pid in pids)
        outcome = load_spread(bases, "POST", "/api/jobs/", body, post_headers, seconds, concurrency)
        cpu = sum(proc_cpu_ms(pid) for pid in pids) - c0
    n = len(outcome["latencies"])
    assert outcome["statuses"] == {201: n}, outcome["statuses"]
    results["post_2proc"] = {
        "requests_per_s": n / outcome["elapsed"],
        "cpu_ms_per_op": cpu / max(n, 1),
        "p50_ms": percentile(outcome["latencies"], 50),
        "p99_ms": percentile(outcome["latencies"], 99),
        "requests": n,
        "per_process": outcome["per_process"],
        "connections": concurrency * 2,
    }
    results["post_2proc"]["ratio_to_1proc"] = results["post_2proc"]["requests_per_s"] / results["post"]["requests_per_s"]
    results["psycopg_floor"] = psycopg_floor(os.environ["DATABASE_URL"], seconds / 2, concurrency)
    results["post"]["ratio_to_psycopg"] = results["post"]["requests_per_s"] / results["psycopg_floor"]["requests_per_s"]
    results["hello"]["ratio_to_psycopg"] = results["hello"]["requests_per_s"] / results["psycopg_floor"]["requests_per_s"]
    return {"seconds": seconds, "concurrency": concurrency, "server": "daphne (1 process)", "results": results}


def table(data: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Rows of (figure, value, floor, ratio, CPU ms/op) for the combined table."""
    r = data["results"]
    return [
        (
            "HTTP floor: hello-world JSON view",
            f"{r['hello']['requests_per_s']:,.0f} req/s",
            "",
            "floor",
            f"{r['hello']['cpu_ms_per_op']:.2f}",
        ),
        (
            "HTTP floor: minimal DRF create",
            f"{r['drf_floor']['requests_per_s']:,.0f} req/s",
            "hello-world",
            f"{r['drf_floor']['ratio_to_hello']:.2f}x hello-world",
            f"{r['drf_floor']['cpu_ms_per_op']:.2f}",
        ),
        (
            "HTTP floor: psycopg INSERT+COMMIT",
            f"{r['psycopg_floor']['requests_per_s']:,.0f} op/s",
            "",
            "floor",
            f"{r['psycopg_floor']['cpu_ms_per_op']:.2f}",
        ),
        (
            "HTTP job POST (DRF, job+outbox)",
            f"{r['post']['requests_per_s']:,.0f} req/s",
            "hello-world",
            (
                f"{r['post']['ratio_to_drf_floor']:.2f}x DRF floor (target >= 0.8x); {r['post']['ratio_to_floor']:.2f}x hello-world; "
                f"{r['post']['ratio_to_psycopg']:.2f}x psycopg"
            ),
            f"{r['post']['cpu_ms_per_op']:.2f}",
        ),
        (
            "HTTP job POST, 2 web processes",
            f"{r['post_2proc']['requests_per_s']:,.0f} req/s",
            "1 process",
            f"{r['post_2proc']['ratio_to_1proc']:.2f}x 1 process (requests per process {r['post_2proc']['per_process']})",
            f"{r['post_2proc']['cpu_ms_per_op']:.2f}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="Seconds of load per figure.")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="A small run for CI (2 s per figure).")
    args = parser.parse_args()
    data = run(2.0 if args.smoke else args.seconds, args.concurrency)
    write_results("http", data)
    print(f"\nHTTP benchmark ({data['seconds']:.0f} s per figure, {data['concurrency']} keep-alive connections, Daphne)")
    for row in table(data):
        print(f"  {row[0]:<38}{row[1]:>16}  {row[3]:<40}{row[4]:>8} CPU ms/op")


if __name__ == "__main__":
    main()
