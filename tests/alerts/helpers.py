"""A real incoming-webhook receiver (http.server in a thread) and builders for staff-alert tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.conf import settings
from django.test import override_settings

from marketplace.events.registry import get_consumer
from marketplace.events.replay import rebuild


@dataclass
class Receiver:
    """What the local webhook server got, and how it answers (``fail_next`` requests get a 500)."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_server(*, fail_next: int = 0) -> Iterator[Receiver]:
    """A Slack-style incoming webhook on 127.0.0.1: records JSON bodies it accepts (200 "ok")."""
    receiver = Receiver(fail_next=fail_next)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests += 1
                failing = receiver.fail_next > 0
                if failing:
                    receiver.fail_next -= 1
                else:
                    receiver.bodies.append(json.loads(body))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"server_error" if failing else b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def alert_settings(**overrides: Any) -> override_settings:
    return override_settings(STAFF_ALERTS={**settings.STAFF_ALERTS, **overrides})


def replay_alerts() -> int:
    """Run the staff-alerts handler over the whole outbox (what ``replay_events staff-alerts --source outbox`` does)."""
    return rebuild(get_consumer("staff-alerts"), source="outbox").applied


def clear_of_window_edge(minutes: int, margin_s: int = 20) -> None:
    """Wait until ``now`` is at least ``margin_s`` from the end of its fixed ``minutes`` window (a flood must fit in one)."""
    import time

    size = minutes * 60
    now = datetime.now(UTC)
    left = size - int(now.timestamp()) % size
    if left < margin_s:
        time.sleep(left + 1)
    assert datetime.now(UTC) + timedelta(seconds=1) > now
