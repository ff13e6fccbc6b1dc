"""Start-up checks: wait for Postgres, Redis and Kafka with a clear message, never a traceback storm.

Long-running processes (relay, consumers) and the dev/test scripts call these
before they start, so a missing service produces one readable line per retry
and, after the timeout, a non-zero exit.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection

from marketplace.events.kafka import make_admin

log = logging.getLogger(__name__)


class ServiceUnavailable(SystemExit):
    """Raised (as a SystemExit with code 3) when a service stays unreachable."""

    def __init__(self, message: str) -> None:
        super().__init__(3)
        self.message = message


def _describe_db() -> str:
    db = settings.DATABASES["default"]
    return f"Postgres at {db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}/{db['NAME']}"


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        # A connection Postgres terminated (a restart, pg_terminate_backend) stays broken until it is
        # closed: drop it, so that the next try opens a new one instead of failing on the dead one.
        with contextlib.suppress(Exception):
            connection.close()
        raise


def check_redis(timeout: float = 2) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def check_kafka(timeout: float = 3) -> None:
    admin = make_admin()
    admin.list_topics(timeout=timeout)


def _wait(name: str, check: Callable[[], None], timeout: float, hint: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            check()
            return
        except Exception as exc:  # each client raises its own error types
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if time.monotonic() + delay > deadline:
                message = f"{name} is unreachable ({reason}). {hint}"
                log.error(message)
                raise ServiceUnavailable(message) from None
            log.warning("%s is unreachable (%s); retrying in %.1f s", name, reason, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5)


def wait_for_database(timeout: float = 30) -> None:
    _wait(_describe_db(), check_database, timeout, "Start Postgres or set DATABASE_URL.")


def wait_for_redis(timeout: float = 30) -> None:
    _wait(f"Redis at {settings.REDIS_URL}", check_redis, timeout, "Start Redis or set REDIS_URL.")


def wait_for_kafka(timeout: float = 30) -> None:
    _wait(
        f"Kafka at {settings.KAFKA['BOOTSTRAP_SERVERS']}",
        check_kafka,
        timeout,
        "Start the broker (make run starts the development one) or set KAFKA_BOOTSTRAP_SERVERS.",
    )
