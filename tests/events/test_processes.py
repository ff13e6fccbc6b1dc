"""Crashes of real processes: the relay and consumers as child processes, killed with SIGKILL."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest
from django.db import transaction

from jobs.events import JOB_POSTED
from jobs.models import JobBoardEntry, TradeActivity
from marketplace.events.models import OutboxEvent, ProcessedEvent
from marketplace.events.outbox import PendingEvent, emit_many
from tests.events.pipeline import read_topic, relay_all
from tests.support import ROOT, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def job_posted(job_id: int) -> PendingEvent:
    return PendingEvent(
        JOB_POSTED,
        job_id,
        {
            "job_id": job_id,
            "customer_id": 1,
            "trade": {"slug": "plumbing", "name": "Plumbing"},
            "title": f"Job {job_id}",
            "description": "Load test job",
            "latitude": "51.5",
            "longitude": "-0.1",
            "budget_min": "0",
            "budget_max": "100",
            "is_emergency": False,
            "status": "open",
            "posted_at": "2026-11-21T10:00:00+00:00",
        },
    )


def post_many(first: int, count: int) -> None:
    with transaction.atomic():
        emit_many([job_posted(i) for i in range(first, first + count)])


def test_consumer_killed_mid_batch_applies_every_event_exactly_once_after_restart(broker) -> None:
    total = 3000
    post_many(1, total)
    assert relay_all() == total
    env = subprocess_env(broker, CONSUMER_BATCH_SIZE="100")

    consumer = manage("consumer-a", "consume", "jobs-board", env=env).start()
    try:
        wait_until(lambda: ProcessedEvent.objects.count() >= 300, timeout=60, message="the consumer to start applying")
        consumer.kill()  # SIGKILL mid-stream: a batch may be committed in Postgres but not in Kafka
        done_before = ProcessedEvent.objects.count()
        assert 0 < done_before < total
        consumer = manage("consumer-b", "consume", "jobs-board", env=env).start()
        wait_until(lambda: ProcessedEvent.objects.count() == total, timeout=120, message="all events applied")
    finally:
        consumer.terminate()
    assert JobBoardEntry.objects.count() == total
    # The counter would be over `total` if any redelivered event had been applied twice.
    assert TradeActivity.objects.get(trade_slug="plumbing").posted_total == total


def test_members_joining_and_leaving_the_group_apply_every_event_exactly_once(broker) -> None:
    total = 4000
    post_many(1, total)
    assert relay_all() == total
    env = subprocess_env(broker, CONSUMER_BATCH_SIZE="100")
    first = manage("member-1", "consume", "jobs-board", env=env).start()
    second = third = None
    try:
        wait_until(lambda: ProcessedEvent.objects.count() >= 500, timeout=60, message="the first member to start")
        second = manage("member-2", "consume", "jobs-board", env=env).start()  # rebalance: partitions split
        wait_until(lambda: "assigned" in second.log(), timeout=60, message="the second member to get partitions")
        assert first.terminate(timeout=30) == 0  # rebalance: the second takes everything
        third = manage("member-3", "consume", "jobs-board", env=env).start()  # and shares again
        wait_until(lambda: ProcessedEvent.objects.count() == total, timeout=120, message="all events applied")
    finally:
        for member in (first, second, third):
            if member is not None:
                member.terminate()
    assert TradeActivity.objects.get(trade_slug="plumbing").posted_total == total
    assert JobBoardEntry.objects.count() == total


def test_relay_killed_repeatedly_loses_nothing_and_keeps_order_per_key(broker) -> None:
    env = subprocess_env(broker, OUTBOX_BATCH_SIZE="50")
    relay = manage("relay-0", "outbox_relay", env=env).start()
    rng = random.Random(7)
    written = 0
    try:
        for round_ in range(1, 6):
            # Several events per key so order per key is observable.
            with transaction.atomic():
                emit_many([job_posted(1_000_000 + (written + i) % 40) for i in range(400)])
            written += 400
            time.sleep(rng.uniform(0.05, 0.4))
            relay.kill()
            relay = manage(f"relay-{round_}", "outbox_relay", env=env).start()
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=60, message="an empty outbox")
    finally:
        relay.terminate()
    messages = read_topic("marketplace.jobs", expect=written)
    seen: dict[str, list[int]] = {}
    ids = set()
    for message in messages:
        envelope = json.loads(message.value())
        ids.add(envelope["event_id"])
        seen.setdefault(envelope["aggregate_id"], []).append(envelope["sequence"])
    assert len(ids) == written  # nothing lost (duplicates are allowed: at-least-once)
    for key, sequences in seen.items():
        first_seen = list(dict.fromkeys(sequences))
        assert first_seen == sorted(first_seen), f"order broken for key {key}"


def test_sigterm_lets_a_consumer_finish_its_batch_commit_and_exit_0(broker) -> None:
    post_many(1, 2000)
    assert relay_all() == 2000
    env = subprocess_env(broker, CONSUMER_BATCH_SIZE="200")
    consumer = manage("consumer-term", "consume", "jobs-board", env=env).start()
    wait_until(lambda: ProcessedEvent.objects.exists(), timeout=60, message="the consumer to start applying")
    assert consumer.terminate(timeout=30) == 0, consumer.log()
    applied = ProcessedEvent.objects.count()
    # Whatever it applied, it committed: a new member of the group starts after it, re-applying nothing.
    restarted = manage("consumer-term-2", "consume", "jobs-board", env=env).start()
    try:
        wait_until(lambda: ProcessedEvent.objects.count() == 2000, timeout=60, message="the rest to be applied")
    finally:
        assert restarted.terminate(timeout=30) == 0
    assert applied > 0
    assert TradeActivity.objects.get(trade_slug="plumbing").posted_total == 2000
    assert "duplicates 0," in restarted.log()  # it re-applied nothing the first one had committed


def test_consume_all_runs_one_process_per_group_and_stops_them_all_cleanly(broker) -> None:
    from marketplace.events.registry import CONSUMERS

    supervisor = manage("consume-all", "consume", "--all", env=subprocess_env(broker)).start()
    try:
        wait_until(lambda: supervisor.log().count("assigned") >= len(CONSUMERS), timeout=90, message="every group to get partitions")
    except AssertionError:
        supervisor.terminate(timeout=30)  # SIGTERM reaches every child; never leave them running
        raise
    assert supervisor.terminate(timeout=30) == 0, supervisor.log()
    log = supervisor.log()
    assert log.count("stopped; processed") == len(CONSUMERS)
    assert {f"consumer {name}: stopped" in log for name in CONSUMERS} == {True}


def test_consume_all_threads_runs_every_group_in_one_process_applies_events_and_stops_cleanly(broker, transactional_db) -> None:
    from marketplace.events.registry import CONSUMERS

    consumers = manage("consume-threads", "consume", "--all", "--threads", env=subprocess_env(broker)).start()
    relay = manage("relay-threads", "outbox_relay", env=subprocess_env(broker)).start()
    try:
        wait_until(lambda: consumers.log().count("assigned") >= len(CONSUMERS), timeout=90, message="every group to get partitions")
        post_many(1, 5)
        wait_until(lambda: JobBoardEntry.objects.count() == 5, timeout=30, message="the board projection to apply them")
        # One process: no child was started for any group.
        assert consumers.proc is not None
        children = subprocess.run(["pgrep", "-P", str(consumers.proc.pid)], capture_output=True, text=True, check=False).stdout.split()
        assert children == []
    except AssertionError:
        consumers.terminate(timeout=30)
        raise
    finally:
        relay.terminate()
    assert consumers.terminate(timeout=30) == 0, consumers.log()
    log = consumers.log()
    assert {f"consumer {name}: stopped" in log for name in CONSUMERS} == {True}


def test_relay_and_consumer_exit_cleanly_when_the_database_is_unreachable() -> None:
    env = subprocess_env(None, DATABASE_URL=f"postgres://marketplace:marketplace@127.0.0.1:{free_port()}/nowhere", STARTUP_WAIT_S="2")
    for command in (["outbox_relay"], ["consume", "jobs-board"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        output = result.stdout + result.stderr
        assert result.returncode == 3, output
        assert "is unreachable" in output and "Start Postgres or set DATABASE_URL" in output
        assert "Traceback" not in output
