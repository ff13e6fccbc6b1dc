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
from decimal import Decimal

import pytest
from django.test import Client
from websockets.sync.client import connect
from websockets.typing import Origin

from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from tests.factories import TradeFactory, pro
from tests.support import running_stack

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
    trader = pro("e2e_trader", at=(Decimal("51.5"), Decimal("-0.1")))
    token = api_token_create(user=customer)[1]
    browser = Client()
    browser.force_login(trader)
    session = browser.cookies["sessionid"].value

    with (
        running_stack(broker, "e2e") as (base, _processes),
        connect(
            f"{base.replace('http', 'ws', 1)}/ws/live/", origin=Origin(base), additional_headers={"Cookie": f"sessionid={session}"}
        ) as ws,
    ):
        assert json.loads(ws.recv(5))["stream"] == f"user.{trader.pk}"
        ws.send(json.dumps({"action": "subscribe", "stream": "board.all"}))
        assert json.loads(ws.recv(5)) == {"type": "subscribed", "stream": "board.all"}

        warmup = post_job(base, token, "warm-up")  # the consumer groups are still joining
        _wait_for(ws, {"job.posted", "lead.offered"}, warmup["id"], 30)

        board, lead = [], []
        for i in range(40):
            started = time.perf_counter()
            job = post_job(base, token, f"Job {i}")
            arrived = _wait_for(ws, {"job.posted", "lead.offered"}, job["id"], 10)
            board.append((arrived["job.posted"][0] - started) * 1000)
            lead.append((arrived["lead.offered"][0] - started) * 1000)
            posted, offered = arrived["job.posted"][1], arrived["lead.offered"][1]
            assert posted["stream"] == "board.all" and posted["seq"] == 1 and posted["data"]["title"] == f"Job {i}"
            assert offered["stream"] == f"user.{trader.pk}" and offered["data"]["title"] == f"Job {i}"
    with capsys.disabled():
        for name, values in (("board push (jobs-board)", board), ("lead to tradesperson (matching)", lead)):
            values.sort()
            print(
                f"\nHTTP POST -> {name} through Kafka: n={len(values)} "
                f"p50={statistics.median(values):.1f} ms p99={values[int(len(values) * 0.99) - 1]:.1f} ms max={values[-1]:.1f} ms"
            )


def _wait_for(ws, events: set[str], job_id: int, timeout: float) -> dict[str, tuple[float, dict]]:
    """Receive until each of ``events`` arrived for ``job_id``; returns {event: (perf_counter, message)}."""
    deadline = time.monotonic() + timeout
    arrived: dict[str, tuple[float, dict]] = {}
    while set(arrived) != events:
        message = json.loads(ws.recv(max(0.1, deadline - time.monotonic())))
        if message.get("type") == "event" and message["event"] in events and message["data"].get("job_id") == job_id:
            arrived[message["event"]] = (time.perf_counter(), message)
    return arrived
