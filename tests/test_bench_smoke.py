"""``make bench`` at smoke size completes and writes every figure (no timing assertions: CI machines vary).

Runs ``python -m bench.run --smoke`` as a subprocess, exactly what ``make bench-smoke`` runs after its
set-up: every module with its own database (marketplace_bench*), broker and channel-layer prefix, so
it does not touch the test database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

EXPECTED: dict[str, list[tuple[str, ...]]] = {
    "pipeline": [
        ("relay", "events_per_s"),
        ("produce_floor", "events_per_s"),
        ("consumer", "events_per_s"),
        ("consume_floor", "events_per_s"),
    ],
    "tracking": [("latency", "p50_ms"), ("latency_floor", "p50_ms"), ("consumer", "pings_per_s"), ("consume_floor", "pings_per_s")],
    "http": [
        ("hello", "requests_per_s"),
        ("hello", "cpu_ms_per_op"),
        ("post", "requests_per_s"),
        ("post", "ratio_to_floor"),
        ("post", "cpu_ms_per_op"),
        ("drf_floor", "requests_per_s"),
        ("drf_floor", "ratio_to_hello"),
        ("post", "ratio_to_drf_floor"),
        ("psycopg_floor", "requests_per_s"),
        ("post_2proc", "requests_per_s"),
        ("post_2proc", "ratio_to_1proc"),
    ],
    "fanout": [
        ("redis_floor", "p50_ms"),
        ("redis_floor", "cpu_ms_per_op"),
        *[("groups", size, key) for size in ("1", "10", "100") for key in ("p50_ms", "p99_ms", "cpu_ms_per_message")],
        ("two_process_groups", "10", "p50_ms"),
    ],
    "e2e": [
        ("hello_floor", "p50_ms"),
        ("steady", "p50_ms"),
        ("steady", "p99_ms"),
        ("steady", "cpu_ms_per_post"),
        ("noisy_neighbour", "p99_ms"),
        ("noisy_neighbour", "p99_increase"),
        ("noisy_neighbour_rate_limited", "p99_ms"),
        ("smtp_stalled", "p50_ms"),
        ("smtp_stalled", "p50_rise_ms"),
        ("smtp_stalled", "emails_waiting_after_phase"),
        ("memory_max_mb",),
        ("memory_total_mb",),
        ("broker_peak_rss_mb",),
    ],
}


def test_bench_smoke_writes_every_figure() -> None:
    outcome = subprocess.run([sys.executable, "-m", "bench.run", "--smoke"], cwd=ROOT, capture_output=True, text=True, timeout=1400)
    assert outcome.returncode == 0, outcome.stdout[-4000:] + outcome.stderr[-4000:]
    report = json.loads((RESULTS / "all.json").read_text())
    assert report["smoke"] is True and report["failed"] == []
    assert report["reference_cpu_ms"]["before"] > 0 and report["reference_cpu_ms"]["after"] > 0
    for module, paths in EXPECTED.items():
        results = report["modules"][module]["results"]
        for path in paths:
            value = results
            for key in path:
                assert key in value, f"{module}: {'.'.join(path)} missing"
                value = value[key]
            assert isinstance(value, int | float), f"{module}: {'.'.join(path)} = {value!r}"
    assert report["modules"]["e2e"]["results"]["steady"]["lost"] == 0
    # With its counter past the hourly limit, the noisy neighbour is refused (429), as in production.
    assert report["modules"]["e2e"]["results"]["noisy_neighbour_rate_limited"]["neighbour_refused"] > 0
    assert all(mb > 0 for mb in report["modules"]["e2e"]["results"]["memory_peak_rss_mb"].values())
    assert len(report["table"]) >= 15
    assert "HTTP job POST" in outcome.stdout
    assert "E2E whole machine CPU per post" in outcome.stdout  # beside the sum of its parts' floors
    assert report["modules"]["e2e"]["results"]["emails_accepted"] > 0  # each lead's email reached the SMTP server
