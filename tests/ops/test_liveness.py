"""Liveness of the long-running processes: the heartbeat file each loop beats and the exec probe that reads it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marketplace.events.kafka import group_id, make_consumer
from marketplace.events.registry import get_consumer
from marketplace.events.runner import ConsumerRunner
from marketplace.ops.heartbeat import Heartbeat
from tests.support import ROOT, free_port, wait_until


@pytest.fixture
def health_dir(settings, tmp_path: Path) -> Path:
    settings.HEALTH = {**settings.HEALTH, "DIR": str(tmp_path), "BEAT_EVERY_S": 0.0}
    return tmp_path


def run_probe(directory: Path, *names: str) -> subprocess.CompletedProcess[str]:
    """The probe as an orchestrator runs it: a bare interpreter, no Django settings."""
    env = {"HEALTH_DIR": str(directory), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "marketplace.ops.probe", *names], cwd=ROOT, env=env, capture_output=True, text=True, timeout=20
    )


def test_the_probe_passes_a_fresh_heartbeat_and_fails_a_stale_missing_or_lost_one(health_dir: Path) -> None:
    relay = Heartbeat("relay", stale_after=30)
    relay.beat("ok", role="leader")
    answer = run_probe(health_dir, "relay")
    assert answer.returncode == 0 and answer.stdout.startswith("relay: ok"), answer

    relay.beat("degraded", reason="broker not acknowledging; backing off")  # alive: a restart would not help
    answer = run_probe(health_dir, "relay")
    assert answer.returncode == 0 and "backing off" in answer.stdout, answer

    record = json.loads((health_dir / "relay.json").read_text())
    assert set(record) == {"name", "pid", "status", "at", "stale_after", "detail"}  # the contract other tools read
    record["at"] -= 31  # nothing beat for longer than stale_after: the loop is stuck
    (health_dir / "relay.json").write_text(json.dumps(record))
    answer = run_probe(health_dir, "relay")
    assert answer.returncode == 1 and "stuck" in answer.stdout, answer

    Heartbeat("consumer-matching").beat("lost-group", reason="out of group for 95 s while the broker answers")
    Heartbeat("consumer-audit").beat("ok")
    answer = run_probe(health_dir, "consumer-*")
    assert answer.returncode == 1, answer
    assert "consumer-matching: lost-group" in answer.stdout and "consumer-audit: ok" in answer.stdout

    answer = run_probe(health_dir, "clock")
    assert answer.returncode == 1 and "no heartbeat" in answer.stdout
    Heartbeat("clock").remove()  # a clean exit removes the file; removing a missing one is fine


def test_a_consumer_out_of_its_group_while_the_broker_answers_is_lost_and_alive_again_once_it_joins(broker, health_dir, settings) -> None:
    settings.HEALTH = {**settings.HEALTH, "GROUP_LOST_AFTER_S": 0.5}
    spec = get_consumer("jobs-board")
    # The shortest poll interval the broker allows (it may not be below the session timeout, 6 s at the least).
    session_ms = max(6000, int(settings.KAFKA["SESSION_TIMEOUT_MS"]))
    consumer = make_consumer(group_id(spec.name), "lost", **{"session.timeout.ms": session_ms, "max.poll.interval.ms": session_ms})
    runner = ConsumerRunner(spec, consumer=consumer)
    runner.consumer.subscribe(spec.kafka_topic_names, on_assign=runner._on_assign, on_revoke=runner._on_revoke)

    def joined() -> bool:
        runner._poll()
        return runner.check_health() == "ok"

    try:
        wait_until(joined, timeout=30, message="the consumer to join its group")
        assert run_probe(health_dir, "consumer-jobs-board").returncode == 0
        # The loop goes round without polling Kafka for longer than max.poll.interval.ms: librdkafka leaves the group.
        wait_until(lambda: runner.check_health() == "lost-group", timeout=session_ms / 1000 + 15, interval=0.2, message="lost-group")
        answer = run_probe(health_dir, "consumer-jobs-board")
        assert answer.returncode == 1 and "lost-group" in answer.stdout, answer
        wait_until(joined, timeout=30, message="the consumer to join its group again")
        assert run_probe(health_dir, "consumer-jobs-board").returncode == 0
    finally:
        runner.consumer.close()


def test_a_consumer_whose_broker_is_away_is_degraded_not_dead(health_dir, settings) -> None:
    settings.KAFKA = {**settings.KAFKA, "BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    settings.HEALTH = {**settings.HEALTH, "GROUP_LOST_AFTER_S": 0.2}
    runner = ConsumerRunner(get_consumer("jobs-board"))
    try:
        runner.consumer.subscribe(runner.spec.kafka_topic_names)
        runner.check_health()
        time.sleep(0.3)
        assert runner.check_health() == "degraded"  # restarting would wait for the same broker
        answer = run_probe(health_dir, "consumer-jobs-board")
        assert answer.returncode == 0 and "broker unreachable" in answer.stdout, answer
    finally:
        runner.consumer.close()
