"""/healthz, /readyz and /metrics against the real Postgres, Redis and broker."""

from __future__ import annotations

import re
import urllib.request

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from marketplace.asgi import application
from marketplace.events.models import OutboxEvent
from marketplace.ops.metrics import RunnerCollector, consumer_lag, serve_process_metrics
from tests.events.pipeline import relay_all, run_consumer_until
from tests.factories import post_job
from tests.support import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def sample(body: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text exposition, or None."""
    for line in body.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.match(r"^(\w+)(\{(.*)\})? (\S+)$", line)
        if not match or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[3] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match[4])
    return None


def test_alive_and_ready_with_every_service_up(broker) -> None:
    assert Client().get("/healthz").json() == {"status": "ok"}
    ready = Client().get("/readyz")
    assert ready.status_code == 200, ready.content
    # Readiness answers for the database alone: everything else has a fallback that keeps requests accepted.
    assert set(ready.json()["checks"]) == {"postgres"} and ready.json()["status"] == "ready"
    deps = Client().get("/healthz/deps")
    assert deps.status_code == 200 and deps.json()["status"] == "ok"
    assert {name: check["ok"] for name, check in deps.json()["checks"].items()} == {"postgres": True, "redis": True, "kafka": True}


def test_still_ready_when_kafka_and_redis_are_unreachable_and_deps_says_so(settings) -> None:
    settings.KAFKA = {**settings.KAFKA, "BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.HEALTH = {**settings.HEALTH, "DEPENDENCY_TIMEOUT_S": 0.5}
    response = Client().get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"
    deps = Client().get("/healthz/deps")
    assert deps.status_code == 200  # informational: never takes the replica out
    body = deps.json()
    assert body["status"] == "degraded"
    assert body["checks"]["postgres"]["ok"] and not body["checks"]["redis"]["ok"] and not body["checks"]["kafka"]["ok"]
    # No internal error text reaches whoever asks (it is logged).
    assert set(body["checks"]["kafka"]) == {"ok", "ms"} and "127.0.0.1" not in deps.content.decode()


def test_not_ready_when_the_database_is_unreachable() -> None:
    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = str(free_port())
    try:
        response = Client().get("/readyz")
    finally:
        connection.settings_dict["PORT"] = port
        connection.close()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"postgres": {"ok": False, "ms": response.json()["checks"]["postgres"]["ms"]}},
    }
    assert Client().get("/readyz").status_code == 200  # and ready again once it answers


def test_metrics_are_local_or_token_only(settings) -> None:
    settings.METRICS = {**settings.METRICS, "ALLOWED_IPS": ["10.9.9.9"], "TOKEN": "s3cret"}
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_http_latency_by_route_outbox_backlog_and_consumer_lag(broker, customer) -> None:
    client = Client()
    client.get("/api/trades/")
    post_job(customer)
    body = client.get("/metrics").content.decode()
    # Route patterns, not raw paths, label the histogram.
    assert (sample(body, "http_request_duration_seconds_count", route="/api/trades/", method="GET", status="200") or 0) >= 1
    backlog = OutboxEvent.objects.filter(published_at__isnull=True).count()
    assert backlog >= 1 and sample(body, "outbox_backlog") == backlog
    age = sample(body, "outbox_oldest_unpublished_age_seconds")
    assert age is not None and age >= 0
    relay_all()
    assert sample(client.get("/metrics").content.decode(), "outbox_backlog") == 0
    # jobs-board has not consumed anything: its lag is the number of messages on the topic.
    lag = {(g, t, p): n for g, t, p, n in consumer_lag()}
    assert sum(n for (g, _, _), n in lag.items() if g == "jobs-board") == OutboxEvent.objects.filter(topic="marketplace.jobs").count()
    from marketplace.events.registry import get_consumer
    from marketplace.events.runner import ConsumerRunner

    runner = ConsumerRunner(get_consumer("jobs-board"))
    run_consumer_until(lambda: runner.stats.processed + runner.stats.duplicates >= 1, runner=runner)
    after = {(g, t, p): n for g, t, p, n in consumer_lag() if g == "jobs-board"}
    assert sum(after.values()) == 0


def test_websocket_connections_gauge(customer) -> None:
    def gauge() -> float:
        return sample(Client().get("/metrics").content.decode(), "websocket_connections") or 0.0

    def gauge_elsewhere() -> float:
        try:
            return gauge()
        finally:
            connection.close()  # this runs in a worker thread: do not leave its connection open

    before = gauge()

    async def scenario() -> tuple[float, float]:
        ws = WebsocketCommunicator(application, "/ws/live/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")])
        ws.scope["user"] = customer
        assert (await ws.connect())[0]
        from asgiref.sync import sync_to_async

        during = await sync_to_async(gauge_elsewhere, thread_sensitive=False)()
        await ws.disconnect()
        return during, 0.0

    during, _ = async_to_sync(scenario)()
    assert during == before + 1 and gauge() == before


def test_a_consumer_process_serves_its_own_counters(monkeypatch, broker) -> None:
    from marketplace.events.registry import get_consumer
    from marketplace.events.runner import ConsumerRunner

    runner = ConsumerRunner(get_consumer("pro-stats"))
    runner.stats.processed = 7
    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    collector = RunnerCollector(runner)
    assert serve_process_metrics(collector) == port
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert sample(body, "consumer_events_processed_total", consumer="pro-stats") == 7
    finally:
        from prometheus_client import REGISTRY

        REGISTRY.unregister(collector)
        runner.consumer.close()
