"""Tracking benchmark: ping -> live push latency and sustained pings/s, each beside its floor.

    python -m bench.tracking [--pings N] [--smoke]

Runs against its own database (marketplace_bench_tracking, created and migrated here), its own
Apache Kafka broker on a free port and its own channel-layer prefix, so it never touches development
data.  Prints a table and writes bench/results/tracking.json.  Takes about a minute.

- latency: ``tracking.services.pings_accept`` (what ``POST /api/tracking/pings/`` calls: validation,
  the Redis rate limiter, produce with acks=all) -> the ``tracking`` consumer (inbox, trail, ETA,
  read model, commit) -> the ``tracking.position`` message arriving on the ``track.<job>`` channel
  group in Redis, which is what Daphne forwards to the customer's websocket (the last hop, a
  local websocket frame, is not included).  One ping at a time, 20 a second across 5 visits.
  Floor: a bare produce -> consume round trip of the same bytes on the same broker, same pace.
- throughput: N pings for 20 visits already on the topic, then the consumer started: pings/s
  from its first to its last.  Floor: a no-op consumer reading the same N messages.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import percentile, prepare_database, write_results

BENCH_DB = "marketplace_bench_tracking"
LATENCY_JOBS = 5
THROUGHPUT_JOBS = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pings", type=int, default=10000, help="Pings for the throughput run.")
    parser.add_argument("--latency-pings", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="A small run for CI (2,000 pings, 100 latency samples).")
    args = parser.parse_args()
    n = 2000 if args.smoke else args.pings
    latency_n = 100 if args.smoke else args.latency_pings

    prepare_database(BENCH_DB)
    os.environ["CHANNELS_PREFIX"] = f"bench{os.getpid()}"
    import django

    django.setup()
    from channels.layers import get_channel_layer
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from marketplace.events.kafka import make_admin, make_consumer, make_producer
    from marketplace.events.registry import get_consumer

    # The floors fetch as the tracking consumer does (registry.py: its fetch wait).
    same_fetch = {"fetch.wait.max.ms": int(settings.KAFKA["FETCH_WAIT_MAX_MS"])}
    from marketplace.events.runner import ConsumerRunner
    from scheduling.services import appointment_book
    from tests.factories import pro
    from tests.scheduling.helpers import awarded_job, future_monday, worker_all_week
    from tests.support import Broker
    from tracking import services as tracking
    from tracking.models import Visit

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TRACKING["RATE_LIMIT_PER_MINUTE"] = 10**9  # the benchmark floods on purpose
    call_command("migrate", verbosity=0)
    broker = Broker()  # Apache Kafka of the benchmark's own (marketplace.devbroker), thrown away at the end
    broker.start()
    settings.KAFKA["BOOTSTRAP_SERVERS"] = broker.bootstrap
    settings.KAFKA["GROUP_PREFIX"] = f"bench-{uuid.uuid4().hex[:6]}"
    results: dict[str, dict[str, float]] = {}
    run = uuid.uuid4().hex[:6]
    try:
        call_command("kafka_topics", verbosity=0)
        from confluent_kafka.admin import NewTopic

        admin = make_admin()
        admin.create_topics([NewTopic("bench.tracking.floor", 12, 1)])["bench.tracking.floor"].result()

        # --- the world: visits on the way, 20 km north of their jobs (never inside the geofence) ----------
        from marketplace.accounts.models import User

        customer = User.objects.create_user(f"bench_cust_{run}", password="x", role=User.Role.CUSTOMER)
        visits: list[tuple[Any, Any]] = []  # (job, owner)
        for i in range(LATENCY_JOBS + THROUGHPUT_JOBS):
            owner = pro(f"bench_pro_{run}_{i}")
            worker = worker_all_week(owner)
            job = awarded_job(customer, owner)
            appointment_book(job=job, worker=worker, starts_at=future_monday(10), duration_minutes=60, actor=customer)
            tracking.visit_act(job=job.pk, actor=owner, action="on_the_way")
            Visit.objects.filter(job=job).update(on_the_way_at=datetime.now(UTC) - timedelta(minutes=30))
            job.refresh_from_db()
            visits.append((job, owner))
        latency_visits, throughput_visits = visits[:LATENCY_JOBS], visits[LATENCY_JOBS:]
        lat0 = float(latency_visits[0][0].latitude) + 0.18

        # --- latency floor: produce -> consume round trip, one message at a time ----------------------
        floor_consumer = make_consumer(f"bench-floor-{run}", "bench", **same_fetch)
        from confluent_kafka import TopicPartition

        floor_consumer.assign([TopicPartition("bench.tracking.floor", p, -1) for p in range(12)])  # -1: the end
        floor_consumer.poll(1.0)
        producer = make_producer("bench-floor", **{"linger.ms": 0})
        floor_latencies: list[float] = []
        sample = json.dumps({"lat": 51.68, "lng": -0.12, "accuracy_m": 10, "recorded_at": "2026-11-21T12:00:00Z"}).encode()
        for i in range(latency_n):
            t0 = time.perf_counter()
            producer.produce("bench.tracking.floor", key=str(i % LATENCY_JOBS).encode(), value=sample)
            producer.flush(5)
            while True:
                message = floor_consumer.poll(1.0)
                if message is not None and not message.error():
                    break
            floor_latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
        floor_consumer.close()
        results["latency_floor"] = {
            "p50_ms": percentile(floor_latencies, 50),
            "p99_ms": percentile(floor_latencies, 99),
            "samples": len(floor_latencies),
        }

        # --- latency: the pipeline, measured at the channel layer --------------------------------------
        runner = ConsumerRunner(get_consumer("tracking"))

        def consume_latency() -> None:
            runner.run()
            connection.close()

        consumer_thread = threading.Thread(target=consume_latency, daemon=True)
        consumer_thread.start()
        arrived: dict[tuple[int, str], float] = {}
        listening = threading.Event()
        stop_listening = threading.Event()

        def listen() -> None:
            async def loop() -> None:
                layer = get_channel_layer()
                assert layer is not None
                channel = await layer.new_channel()
                for job, _ in latency_visits:
                    await layer.group_add(f"track.{job.pk}", channel)
                listening.set()
                while not stop_listening.is_set():
                    try:
                        message = await asyncio.wait_for(layer.receive(channel), 0.5)
                    except TimeoutError:
                        continue
                    if message.get("event") == "tracking.position":
                        data = message["data"]
                        arrived.setdefault((data["job_id"], data["at"]), time.perf_counter())

            asyncio.run(loop())

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        listening.wait(10)
        # Warm up: the consumer group joins, the first fetch and connection set-up are not the steady state.
        warm_job, warm_owner = latency_visits[0]
        warm_at = datetime.now(UTC) - timedelta(minutes=5)
        tracking.pings_accept(
            job=warm_job, actor=warm_owner, pings=[{"lat": lat0, "lng": -0.12, "accuracy_m": 10, "recorded_at": warm_at.isoformat()}]
        )
        warm_key = (warm_job.pk, warm_at.isoformat().replace("+00:00", "Z"))
        deadline = time.monotonic() + 30
        while warm_key not in arrived and time.monotonic() < deadline:
            time.sleep(0.01)
        assert warm_key in arrived, "the tracking consumer did not push the warm-up ping"

        sent: dict[tuple[int, str], float] = {}
        for i in range(latency_n):
            job, owner = latency_visits[i % LATENCY_JOBS]
            at = datetime.now(UTC)
            fix = {"lat": lat0 - i * 0.0002, "lng": -0.12, "accuracy_m": 10, "recorded_at": at.isoformat(), "speed_mps": 12}
            t0 = time.perf_counter()
            tracking.pings_accept(job=job, actor=owner, pings=[fix])
            sent[(job.pk, at.isoformat().replace("+00:00", "Z"))] = t0
            time.sleep(max(0.0, 0.05 - (time.perf_counter() - t0)))
        deadline = time.monotonic() + 30
        while not all(key in arrived for key in sent) and time.monotonic() < deadline:
            time.sleep(0.02)
        latencies = [(arrived[key] - t0) * 1000 for key, t0 in sent.items() if key in arrived]
        lost = len(sent) - len(latencies)
        stop_listening.set()
        listener.join(5)
        results["latency"] = {
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
            "mean_ms": statistics.mean(latencies),
            "samples": len(latencies),
            "lost": lost,
        }
        results["latency"]["p50_vs_floor"] = results["latency"]["p50_ms"] / results["latency_floor"]["p50_ms"]
        runner.stop()
        consumer_thread.join(30)

        # --- throughput: N pings waiting on the topic, then the consumer --------------------------------
        base = datetime.now(UTC) + timedelta(seconds=5)
        now = datetime.now(UTC)
        envelopes = []
        per_job = n // THROUGHPUT_JOBS
        for j, (job, owner) in enumerate(throughput_visits):
            worker_id = Visit.objects.get(job=job).worker_id
            assert worker_id is not None
            for i in range(per_job):
                fix = {
                    "lat": lat0 - i * 0.00001,
                    "lng": -0.12 + j * 0.001,
                    "accuracy_m": 10.0,
                    "recorded_at": (base + timedelta(milliseconds=10 * i)).isoformat().replace("+00:00", "Z"),
                    "speed_mps": 12.0,
                    "heading": None,
                }
                envelopes.append(tracking.ping_envelope(job_id=job.pk, worker_id=worker_id, ping=fix, actor_id=owner.pk, now=now))
        total = len(envelopes)
        t0 = time.perf_counter()
        for k in range(0, total, 500):
            tracking.produce_pings(envelopes[k : k + 500])
        results["produce"] = {"pings_per_s": total / (time.perf_counter() - t0)}

        floor = make_consumer(f"bench-noop-{run}", "bench", **same_fetch)
        floor.subscribe(["marketplace.tracking"])
        seen, first = 0, None
        deadline = time.monotonic() + 120
        while seen < total + latency_n + 1 and time.monotonic() < deadline:
            batch = floor.consume(500, 0.5)
            if batch and first is None:
                first = time.perf_counter()
            seen += sum(1 for m in batch if not m.error())
        results["consume_floor"] = {"pings_per_s": seen / (time.perf_counter() - (first or time.perf_counter()))}
        floor.close()

        runner = ConsumerRunner(get_consumer("tracking"))
        start_processed = 0
        profile = os.environ.get("BENCH_PROFILE")

        def consume() -> None:
            if profile:
                import cProfile

                cProfile.runctx("runner.run()", globals(), {"runner": runner}, profile)
            else:
                runner.run()
            connection.close()

        consumer_thread = threading.Thread(target=consume, daemon=True)
        consumer_thread.start()
        while runner.stats.processed == start_processed:
            time.sleep(0.005)
        t0 = time.perf_counter()
        first_count = runner.stats.processed
        deadline = time.monotonic() + 180
        while runner.stats.processed < total and time.monotonic() < deadline:
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        done = runner.stats.processed - first_count
        runner.stop()
        consumer_thread.join(30)
        results["consumer"] = {"pings_per_s": done / elapsed, "processed": runner.stats.processed, "of": total}
        results["consumer"]["ratio_to_floor"] = results["consumer"]["pings_per_s"] / results["consume_floor"]["pings_per_s"]
        last = Visit.objects.get(job=throughput_visits[-1][0])
        assert last.last_recorded_at is not None and last.last_recorded_at >= base, "the consumer did not apply the last pings"
    finally:
        broker.remove()

    lat, floor_lat = results["latency"], results["latency_floor"]
    print(f"\ntracking benchmark ({lat['samples']:.0f} latency samples, {n} pings for throughput; one process, this machine)")
    print(f"{'ping -> live push':<34}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'  floor: bare produce -> consume':<34}{floor_lat['p50_ms']:>10.1f}{floor_lat['p99_ms']:>10.1f}")
    print(f"{'  pipeline (API fn -> channel layer)':<34}{lat['p50_ms']:>10.1f}{lat['p99_ms']:>10.1f}   lost {lat['lost']:.0f}")
    print(f"{'sustained':<34}{'pings/s':>10}{'vs floor':>10}")
    print(f"{'  produce (acks=all, batches of 500)':<34}{results['produce']['pings_per_s']:>10,.0f}")
    print(f"{'  floor: no-op consumer':<34}{results['consume_floor']['pings_per_s']:>10,.0f}{'floor':>10}")
    ratio = f"{results['consumer']['ratio_to_floor']:.2f}x"
    print(f"{'  tracking consumer':<34}{results['consumer']['pings_per_s']:>10,.0f}{ratio:>10}")
    write_results("tracking", {"pings": n, "results": results})


if __name__ == "__main__":
    main()
