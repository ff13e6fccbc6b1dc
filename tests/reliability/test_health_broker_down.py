"""The broker dies under a running web, relay and consumer: the web stays ready and keeps taking jobs into the outbox,
the relay and the consumer stay alive (degraded, waiting), the relay drains once the broker is back, and a relay whose
loop stops (SIGSTOP) fails its liveness probe."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from marketplace.accounts.services import api_token_create
from marketplace.events.models import OutboxEvent
from tests.factories import CustomerFactory, TradeFactory
from tests.support import ROOT, Process, daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def http(method: str, url: str, token: str = "", body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except OSError:
        return False


def probe(directory: Path, name: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "marketplace.ops.probe", name],
        cwd=ROOT,
        env={"HEALTH_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=20,
    )
    return done.returncode, done.stdout


def status(directory: Path, name: str) -> str:
    try:
        return str(json.loads((directory / f"{name}.json").read_text())["status"])
    except (OSError, ValueError):
        return ""


def test_the_web_stays_ready_and_takes_jobs_while_the_broker_is_down_and_the_relay_drains_after(private_broker, tmp_path) -> None:
    TradeFactory(slug="plumbing", name="Plumbing")
    _, token = api_token_create(user=CustomerFactory.create(), label="broker-down test")
    job = {"trade": "plumbing", "title": "Leaking tap", "description": "drips all night", "latitude": "51.5", "longitude": "-0.1"}
    # Stale after 12 s: above the relay's longest wait (10 s backoff), short enough to see a stopped loop quickly.
    env = subprocess_env(private_broker, HEALTH_DIR=str(tmp_path), HEALTH_STALE_AFTER_S="12", HEALTH_BEAT_EVERY_S="0.2")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes: list[Process] = [
        daphne(port, env).start(),
        manage("health-relay", "outbox_relay", env=env).start(),
        manage("health-consumer", "consume", "jobs-board", env=env).start(),
    ]
    relay = processes[1]
    try:
        wait_until(lambda: answers(f"{base}/healthz"), timeout=60, interval=0.5, message="daphne to listen")
        wait_until(lambda: status(tmp_path, "relay") == "ok" and status(tmp_path, "consumer-jobs-board") == "ok", timeout=40)
        assert http("POST", f"{base}/api/jobs/", token, job)[0] == 201
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=20, message="the relay to publish")

        private_broker.kill()
        ready, body = http("GET", f"{base}/readyz")
        assert ready == 200 and body["status"] == "ready", body
        for n in range(3):
            created, answer = http("POST", f"{base}/api/jobs/", token, {**job, "title": f"Broker down {n}"})
            assert created == 201, answer
        assert OutboxEvent.objects.filter(published_at__isnull=True).count() >= 3  # accepted into the outbox
        deps_status, deps = http("GET", f"{base}/healthz/deps")
        assert deps_status == 200 and deps["status"] == "degraded" and not deps["checks"]["kafka"]["ok"]

        # The relay backs off and says so; it is alive all along (a restart would wait for the same broker).
        def relay_degraded() -> bool:
            code, line = probe(tmp_path, "relay")
            assert code == 0, line
            return status(tmp_path, "relay") == "degraded"

        wait_until(relay_degraded, timeout=60, interval=1, message="the relay to report the broker's absence")
        code, line = probe(tmp_path, "consumer-jobs-board")
        assert code == 0, line
        assert http("GET", f"{base}/readyz")[0] == 200

        private_broker.start()
        wait_until(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=60, message="the relay to drain")
        wait_until(lambda: status(tmp_path, "relay") == "ok", timeout=20)

        # A loop that stops going round fails the probe once its heartbeat is stale, and passes again when it resumes.
        assert relay.proc is not None
        relay.proc.send_signal(signal.SIGSTOP)
        try:
            wait_until(lambda: probe(tmp_path, "relay")[0] == 1, timeout=30, interval=1, message="the probe to call the relay stuck")
            assert "stuck" in probe(tmp_path, "relay")[1]
        finally:
            relay.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: probe(tmp_path, "relay")[0] == 0, timeout=20, interval=0.5, message="the relay to beat again")
    finally:
        for process in processes:
            process.ask_to_stop()
        for process in processes:
            process.terminate()
