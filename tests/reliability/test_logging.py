"""The JSON log format (marketplace/logging.py) without processes: fields, context ids, the access log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from marketplace.events.context import consuming, correlation
from marketplace.logging import CorrelationFilter, JsonFormatter, service_name


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A handler configured exactly as settings.LOGGING's console handler, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_settings_use_the_json_formatter_with_the_correlation_filter() -> None:
    config: dict[str, Any] = settings.LOGGING
    console = config["handlers"]["console"]
    assert console["formatter"] == "json" and "correlation" in console["filters"]
    assert config["formatters"]["json"]["()"] == "marketplace.logging.JsonFormatter"


def test_a_line_carries_the_context_ids_and_leaves_out_empty_ones(captured: io.StringIO) -> None:
    log = logging.getLogger("tests.reliability")
    log.warning("outside any context")
    with correlation("corr-1", "cause-1"), consuming("matching"):
        log.warning("inside %s", "a handler", extra={"event_id": "e-1"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    outside, inside, failed = lines(captured)
    assert outside["message"] == "outside any context" and outside["level"] == "WARNING" and outside["logger"] == "tests.reliability"
    assert "correlation_id" not in outside and "consumer" not in outside
    assert "timestamp" in outside and "service" in outside
    assert inside["message"] == "inside a handler"
    assert (inside["correlation_id"], inside["causation_id"], inside["consumer"], inside["event_id"]) == (
        "corr-1",
        "cause-1",
        "matching",
        "e-1",
    )
    assert "ValueError: boom" in failed["exc_info"]


def test_service_name_names_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVICE_NAME", raising=False)
    assert service_name(["/srv/.venv/lib/python3.11/site-packages/daphne/__main__.py", "-b", "127.0.0.1"]) == "web"
    assert service_name(["/srv/.venv/bin/daphne", "-p", "8000"]) == "web"
    assert service_name(["manage.py", "consume", "matching"]) == "consume"
    monkeypatch.setenv("SERVICE_NAME", "relay-eu")
    assert service_name(["manage.py", "outbox_relay"]) == "relay-eu"


def test_every_request_logs_one_access_line_with_its_request_id(client, captured: io.StringIO, db: None) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-abc")
    assert response["X-Request-ID"] == "req-abc"
    access = [line for line in lines(captured) if line["logger"] == "marketplace.access"]
    assert len(access) == 1
    assert access[0]["correlation_id"] == "req-abc" and access[0]["status"] == response.status_code
    assert access[0]["path"] == "/healthz" and access[0]["http_method"] == "GET"
    made_up = client.get("/healthz")["X-Request-ID"]  # no header: the middleware makes one up and says which
    assert len(made_up) == 36
