"""Every benchmark, one combined table: ``make bench`` (or ``make bench-smoke`` for the CI size).

    python -m bench.run [--smoke] [--only http,fanout,...]

Runs each module in its own process (``python -m bench.<name>``: its own Django set-up, database,
broker and channel-layer prefix), in this order: pipeline (relay and projection consumer), tracking,
http, fanout, e2e.  Each writes bench/results/<name>.json; this prints one table of every figure beside
its floor (value, floor, ratio, CPU ms per operation) and writes bench/results/all.json.  A module that
fails is reported and the others still run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.common import RESULTS, ROOT, reference_cpu_ms

MODULES = ["pipeline", "tracking", "http", "fanout", "e2e"]
Row = tuple[str, str, str, str, str]


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else ""


def generic_rows(name: str, data: dict[str, Any]) -> list[Row]:
    """Rows for modules without a table() of their own (pipeline, tracking): one per result entry."""
    rows: list[Row] = []
    for key, row in data.get("results", {}).items():
        if not isinstance(row, dict):
            continue
        rate_key = next((k for k in row if k.endswith("_per_s")), None)
        if rate_key:
            value = f"{row[rate_key]:,.0f} {rate_key.removesuffix('_per_s')}/s"
        elif "p50_ms" in row:
            value = f"p50 {row['p50_ms']:.1f} ms"
        else:
            continue
        extra = f"p99 {row['p99_ms']:.1f} ms" if "p99_ms" in row else ""
        ratio = next(
            (
                f"{v:.2f}x {k.removeprefix('ratio_to_').replace('_', ' ')}"
                for k, v in row.items()
                if k.startswith("ratio_to") or k.endswith("_vs_floor")
            ),
            "",
        )
        if not ratio and "floor" in key:
            ratio = "floor"
        cpu = next((_num(v, ".3f") for k, v in row.items() if k.startswith("cpu_ms")), "")
        rows.append((f"{name}: {key}", value, extra, ratio, cpu))
    return rows


def rows_for(name: str, data: dict[str, Any]) -> list[Row]:
    if name in {"http", "fanout", "e2e"}:
        module = __import__(f"bench.{name}", fromlist=["table"])
        return list(module.table(data))
    return generic_rows(name, data)


def floor_sum_row(modules: dict[str, Any]) -> Row | None:
    """The whole machine's CPU per job post (e2e, the carried rate) beside the sum of the floors of one post's parts.

    The parts, each a floor measured in this run: a hello-world request (Daphne), a psycopg INSERT+COMMIT (the
    client's CPU), a bare produce and a bare consume (confluent-kafka), a Redis PUBLISH and its receipt, and a
    websocket send (Daphne's CPU per message, a push to one client).
    """
    try:
        http, pipeline, fanout, e2e = (modules[m]["results"] for m in ("http", "pipeline", "fanout", "e2e"))
        parts = {
            "hello": http["hello"]["cpu_ms_per_op"],
            "insert+commit": http["psycopg_floor"]["cpu_ms_per_op"],
            "produce": pipeline["produce_floor"]["cpu_ms_per_event"],
            "consume": pipeline["consume_floor"]["cpu_ms_per_event"],
            "redis publish": fanout["redis_floor"]["cpu_ms_per_op"],
            "ws send": fanout["groups"]["1"]["cpu_ms_per_message"],
        }
        phase = e2e.get("carried") or e2e["steady"]
    except KeyError:
        return None
    floor = sum(parts.values())
    machine = phase["machine_cpu_ms_per_post"]
    detail = " + ".join(f"{name} {value:.2f}" for name, value in parts.items())
    return (
        f"E2E whole machine CPU per post, {phase['rate']:g}/s",
        f"{machine:.0f} ms",
        f"floor {floor:.1f} ms",
        f"{machine / floor:.0f}x the floors' sum ({detail}); target <= 35 ms",
        f"{machine:.1f}",
    )


def markdown(report: dict[str, Any]) -> str:
    """The combined table as Markdown (for BENCHMARKS.md)."""
    lines = ["| figure | value | floor / p99 | CPU ms/op | ratio / target |", "|---|---:|---:|---:|---|"]
    for row in report["table"]:
        cells = [row["figure"], row["value"], row["floor_or_p99"], row["cpu_ms_per_op"], row["ratio"]]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="Every module at its CI size.")
    parser.add_argument("--only", default=",".join(MODULES), help="Comma-separated modules to run.")
    parser.add_argument("--markdown", action="store_true", help="Run nothing: print bench/results/all.json as a Markdown table.")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads((RESULTS / "all.json").read_text())))
        return
    chosen = [m for m in args.only.split(",") if m]
    unknown = set(chosen) - set(MODULES)
    if unknown:
        parser.error(f"unknown modules: {', '.join(sorted(unknown))}")
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "smoke": args.smoke,
        "modules": {},
        "failed": [],
    }
    reference_before = reference_cpu_ms()
    previous_path = RESULTS / "all.json"
    if set(chosen) != set(MODULES) and previous_path.exists():
        # A partial run (--only) refreshes those modules in the last combined table of the same size.
        previous = json.loads(previous_path.read_text())
        if previous.get("smoke") == args.smoke:
            report["modules"] = {k: v for k, v in previous.get("modules", {}).items() if k not in chosen}
            report["command"] = f"{previous.get('command', '')}; then {report['command']}"
            report["started"] = previous.get("started", report["started"])
    # The benchmarks post far more jobs per customer than the production limit allows (on purpose), and
    # must not share rate-limit counters with anything else on this Redis.
    env = {
        **os.environ,
        "RATE_JOB_POSTS_PER_HOUR": "1000000",
        "RATE_BIDS_PER_HOUR": "1000000",
        "RATE_LIMIT_NAMESPACE": f"bench-{uuid.uuid4().hex}",
    }
    for name in chosen:
        path = RESULTS / f"{name}.json"
        path.unlink(missing_ok=True)
        command = [sys.executable, "-m", f"bench.{name}", *(["--smoke"] if args.smoke else [])]
        print(f"\n=== bench.{name}: {' '.join(command[1:])}", flush=True)
        t0 = time.monotonic()
        outcome = subprocess.run(command, cwd=ROOT, env=env, check=False)
        elapsed = time.monotonic() - t0
        if outcome.returncode != 0 or not path.exists():
            report["failed"].append(name)
            print(f"=== bench.{name} FAILED (exit {outcome.returncode}) after {elapsed:.0f} s", flush=True)
            continue
        report["modules"][name] = {
            "seconds": round(elapsed, 1),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            **json.loads(path.read_text()),
        }
    rows: list[Row] = []
    for name in MODULES:
        if name in report["modules"]:
            rows.extend(rows_for(name, report["modules"][name]))
    if (summed := floor_sum_row(report["modules"])) is not None:
        rows.append(summed)
    report["reference_cpu_ms"] = {"before": reference_before, "after": reference_cpu_ms()}
    report["table"] = [dict(zip(("figure", "value", "floor_or_p99", "ratio", "cpu_ms_per_op"), row, strict=True)) for row in rows]
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "all.json").write_text(json.dumps(report, indent=2))

    size = "smoke size" if args.smoke else "full size"
    print(f"\n\nTradeLink benchmarks, {size}, {report['started']} (2-core machine; see BENCHMARKS.md)")
    reference = report["reference_cpu_ms"]
    print(f"machine speed: a fixed workload took {reference['before']} / {reference['after']} CPU ms before / after (lower is faster)")
    widths = (46, 18, 18, 0, 10)
    print(f"{'figure':<{widths[0]}}{'value':>{widths[1]}}{'floor / p99':>{widths[2]}}  {'CPU ms/op':>{widths[4]}}  ratio / target")
    for figure, value, extra, ratio, cpu in rows:
        print(f"{figure:<{widths[0]}}{value:>{widths[1]}}{extra:>{widths[2]}}  {cpu:>{widths[4]}}  {ratio}")
    print(f"\nwrote {RESULTS / 'all.json'}")
    if report["failed"]:
        print(f"FAILED: {', '.join(report['failed'])}")
        sys.exit(1)


if __name__ == "__main__":
    main()
