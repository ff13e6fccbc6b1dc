"""Pipeline throughput: outbox relay and a projection consumer, each beside its floor.

    python bench/pipeline.py [--events N] [--smoke]

Runs against its own database (marketplace_bench, created and migrated here) and its
own in-memory broker on a free port, so it never touches development data. Prints a
table and writes bench/results/pipeline.json.

- relay: committed outbox rows -> Kafka acks, events/s, vs a bare confluent-kafka
  produce loop (delivery callbacks, same payloads, same broker) as the floor.
- consumer: the jobs-board projection (inbox + read model + commit) events/s, vs a
  no-op consume(500) loop over the same topic as the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
BENCH_DB = "marketplace_bench"


def prepare_database() -> None:
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{BENCH_DB}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {BENCH_DB}"], check=True)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"


def cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--smoke", action="store_true", help="A small run for CI (2,000 events).")
    args = parser.parse_args()
    n = 2000 if args.smoke else args.events

    prepare_database()
    os.environ["KAFKA_SESSION_TIMEOUT_MS"] = "2000"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from jobs.events import JOB_POSTED
    from marketplace import devbroker
    from marketplace.events.kafka import make_consumer, make_producer
    from marketplace.events.models import OutboxEvent, ProcessedEvent
    from marketplace.events.outbox import PendingEvent, emit_many
    from marketplace.events.registry import get_consumer
    from marketplace.events.relay import OutboxRelay
    from marketplace.events.runner import ConsumerRunner
    from tests.support import free_port

    call_command("migrate", verbosity=0)
    port = free_port()
    broker = devbroker.start(port)
    settings.KAFKA["BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
    settings.KAFKA["GROUP_PREFIX"] = f"bench-{uuid.uuid4().hex[:6]}"
    results: dict[str, dict[str, float]] = {}
    try:
        call_command("kafka_topics", verbosity=0)
        from confluent_kafka.admin import NewTopic

        from marketplace.events.kafka import make_admin

        admin = make_admin()  # kept referenced until the future resolves
        admin.create_topics([NewTopic("bench.floor", 6, 1)])["bench.floor"].result()
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE events_outboxevent, events_processedevent, events_aggregatesequence, "
                "jobs_jobboardentry, jobs_tradeactivity, realtime_liveposition"
            )

        def payload(i: int) -> dict[str, object]:
            return {
                "job_id": i,
                "customer_id": 1,
                "trade": {"slug": "plumbing", "name": "Plumbing"},
                "title": f"Bench job {i}",
                "description": "A leaking tap in the kitchen, washer needs replacing.",
                "latitude": "51.53620",
                "longitude": "-0.10330",
                "place": "Islington N1",
                "budget_min": "50.00",
                "budget_max": "150.00",
                "is_emergency": False,
                "status": "open",
                "posted_at": "2026-11-21T10:00:00+00:00",
            }

        for start in range(0, n, 1000):
            with transaction.atomic():
                emit_many([PendingEvent(JOB_POSTED, i, payload(i)) for i in range(start + 1, min(start + 1001, n + 1))])

        # Floor: bare produce of the same bytes with delivery callbacks.
        values = [json.dumps(v).encode() for v in OutboxEvent.objects.order_by("id").values_list("envelope", flat=True).iterator()]
        producer = make_producer("bench-floor")
        acked = 0

        def on_delivery(err: object, _msg: object) -> None:
            nonlocal acked
            acked += err is None

        t0, c0 = time.perf_counter(), cpu_ms()
        for i, value in enumerate(values):
            while True:
                try:
                    producer.produce("bench.floor", key=str(i % 500).encode(), value=value, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.flush(60)
        floor_s, floor_cpu = time.perf_counter() - t0, cpu_ms() - c0
        assert acked == n, f"the floor lost messages: {acked} of {n} acknowledged"
        results["produce_floor"] = {"events_per_s": n / floor_s, "cpu_ms_per_event": floor_cpu / n}

        relay = OutboxRelay()
        t0, c0 = time.perf_counter(), cpu_ms()
        published = relay.drain(timeout=300)
        relay_s, relay_cpu = time.perf_counter() - t0, cpu_ms() - c0
        assert published == n, (published, n)
        results["relay"] = {"events_per_s": n / relay_s, "cpu_ms_per_event": relay_cpu / n}

        # Floor: a consumer that does nothing with what it reads.
        consumer = make_consumer(f"bench-noop-{uuid.uuid4().hex[:6]}", "bench")
        consumer.subscribe(["marketplace.jobs"])
        seen = 0
        first = None
        deadline = time.monotonic() + 120
        while seen < n and time.monotonic() < deadline:
            batch = consumer.consume(500, 0.5)
            if batch and first is None:
                first, c0 = time.perf_counter(), cpu_ms()
            seen += sum(1 for m in batch if not m.error())
        noop_s, noop_cpu = time.perf_counter() - (first or time.perf_counter()), cpu_ms() - c0
        consumer.close()
        results["consume_floor"] = {"events_per_s": seen / noop_s, "cpu_ms_per_event": noop_cpu / max(seen, 1)}

        runner = ConsumerRunner(get_consumer("jobs-board"))
        import threading

        profile = os.environ.get("BENCH_PROFILE")

        def run_consumer() -> None:
            if profile:
                import cProfile

                cProfile.runctx("runner.run()", globals(), {"runner": runner}, profile)
            else:
                runner.run()

        thread = threading.Thread(target=run_consumer, daemon=True)
        thread.start()
        while ProcessedEvent.objects.count() == 0:
            time.sleep(0.01)
        t0, c0 = time.perf_counter(), cpu_ms()
        while runner.stats.processed < n:
            time.sleep(0.02)
        consume_s = time.perf_counter() - t0
        consume_cpu = cpu_ms() - c0
        runner.stop()
        thread.join(30)
        results["consumer"] = {"events_per_s": n / consume_s, "cpu_ms_per_event": consume_cpu / n}
    finally:
        broker.kill()

    results["relay"]["ratio_to_floor"] = results["relay"]["events_per_s"] / results["produce_floor"]["events_per_s"]
    results["consumer"]["ratio_to_floor"] = results["consumer"]["events_per_s"] / results["consume_floor"]["events_per_s"]
    print(f"\npipeline benchmark, {n} events (one process, this machine)")
    print(f"{'measure':<28}{'events/s':>12}{'CPU ms/event':>15}{'vs floor':>10}")
    for name in ("produce_floor", "relay", "consume_floor", "consumer"):
        row = results[name]
        ratio = f"{row['ratio_to_floor']:.2f}x" if "ratio_to_floor" in row else "floor"
        print(f"{name:<28}{row['events_per_s']:>12,.0f}{row['cpu_ms_per_event']:>15.3f}{ratio:>10}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps({"events": n, "results": results}, indent=2))


if __name__ == "__main__":
    main()
