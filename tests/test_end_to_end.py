"""The whole pipeline as production runs it: Daphne, the relay and a consumer as real processes.

HTTP POST /api/jobs/ (token auth) -> job + outbox row committed -> relay -> Kafka
-> jobs-board consumer -> read model committed -> group_send (Redis) -> Daphne ->
an authenticated websocket client subscribed to the board.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect
from websockets.typing import Origin

from marketplace.accounts.models import User
from tests.factories import TradeFactory
from tests.support import daphne, free_port, manage, subprocess_env, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def post_job(base: str, token: str, title: str) -> dict:
    body = json.dumps({"trade": "plumbing", "title": title, "description": "E2E", "latitude": "51.5", "longitude": "-0.1"}).encode()
    request = urllib.request.Request(
        f"{base}/api/jobs/", data=body, method="POST", headers={"Authorization": f"Token {token}", "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return dict(json.loads(response.read()))


def test_http_post_reaches_an_authenticated_websocket_through_kafka(broker, capsys) -> None:
    TradeFactory()
    customer = User.objects.create_user("e2e_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    trader = User.objects.create_user("e2e_trader", password="pw-123456-x", role=User.Role.TRADESPERSON)
    token = Token.objects.create(user=customer).key
    browser = Client()
    browser.force_login(trader)
    session = browser.cookies["sessionid"].value

    port = free_port()
    env = subprocess_env(broker)
    processes = [
        daphne(port, env).start(),
        manage("e2e-relay", "outbox_relay", env=env).start(),
        manage("e2e-consumer", "consume", "jobs-board", env=env).start(),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _port_answers(base), timeout=30, message="daphne")
        with connect(f"ws://127.0.0.1:{port}/ws/live/", origin=Origin(base), additional_headers={"Cookie": f"sessionid={session}"}) as ws:
            assert json.loads(ws.recv(5))["stream"] == f"user.{trader.pk}"
            ws.send(json.dumps({"action": "subscribe", "stream": "board.all"}))
            assert json.loads(ws.recv(5)) == {"type": "subscribed", "stream": "board.all"}

            warmup = post_job(base, token, "warm-up")  # the consumer group is still joining
            assert _next_event(ws, 30)["data"]["job_id"] == warmup["id"]

            latencies = []
            for i in range(30):
                started = time.perf_counter()
                job = post_job(base, token, f"Job {i}")
                message = _next_event(ws, 10)
                latencies.append((time.perf_counter() - started) * 1000)
                assert message["event"] == "job.posted" and message["seq"] == 1
                assert message["data"]["job_id"] == job["id"] and message["data"]["title"] == f"Job {i}"
    finally:
        for process in processes:
            process.terminate()
    latencies.sort()
    with capsys.disabled():
        print(
            f"\nHTTP POST -> websocket push through Kafka: n={len(latencies)} "
            f"p50={statistics.median(latencies):.1f} ms p99={latencies[int(len(latencies) * 0.99) - 1]:.1f} ms max={latencies[-1]:.1f} ms"
        )


def _port_answers(base: str) -> bool:
    try:
        urllib.request.urlopen(f"{base}/", timeout=1)
        return True
    except OSError:
        return False


def _next_event(ws, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(max(0.1, deadline - time.monotonic())))
        if message.get("type") == "event":
            return dict(message)
