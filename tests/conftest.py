"""Shared fixtures. Integration tests use the real Postgres, Redis and a real broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from marketplace.accounts.models import User

from .support import Broker, PrivateRedis


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser = [item for item in items if item.get_closest_marker("browser") is not None]
    others = [item for item in items if item.get_closest_marker("browser") is None]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under xdist (`make test` runs -n 3 --dist loadgroup) the browser tests share one worker, one at
        # a time: each starts a whole stack (web, relay, a process per consumer, a broker) plus chromium,
        # and three of those at once on two cores time out.  They go first, so that worker starts on
        # the longest chain at once while the other workers share everything else.
        for item in browser:
            item.add_marker(pytest.mark.xdist_group("browser"))
        items[:] = browser + others
    else:
        # In one process, browser tests last: they are the slowest, and a fast failure elsewhere should show first.
        items[:] = others + browser


@pytest.fixture(autouse=True, scope="session")
def _isolated_channel_layer() -> None:
    # Our own Redis key prefix, so a dev stack running on the same Redis never sees test pushes.
    config: dict[str, Any] = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    config["prefix"] = f"test{os.getpid()}"


@pytest.fixture(autouse=True, scope="session")
def _generous_rate_limits() -> None:
    # Fixtures post many jobs and bids per user within seconds; tests/test_rate_limits.py sets real limits itself.
    # A namespace of our own keeps counters from other runs (or a dev stack) on the same Redis out.
    settings.RATE_LIMIT_NAMESPACE = f"test{os.getpid()}-{uuid.uuid4().hex[:8]}"
    settings.RATE_LIMITS = {scope: (limit * 1000, seconds) for scope, (limit, seconds) in settings.RATE_LIMITS.items()}


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    # PBKDF2 costs most of a second per user on this machine, and most tests create several users.
    # Browser tests keep the real hasher: their stack processes must verify the passwords they type.
    if request.node.get_closest_marker("browser") is not None:
        yield
        return
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):  # also resets the hasher cache
        yield


@pytest.fixture
def broker() -> Iterator[Broker]:
    """A fresh in-memory broker for this test, with the declared topics created."""
    instance = Broker()
    instance.start()
    previous = dict(settings.KAFKA)
    settings.KAFKA["BOOTSTRAP_SERVERS"] = instance.bootstrap
    settings.KAFKA["SESSION_TIMEOUT_MS"] = 2000
    settings.KAFKA["GROUP_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
    try:
        call_command("kafka_topics", wait=10, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        yield instance
    finally:
        settings.KAFKA.clear()
        settings.KAFKA.update(previous)
        instance.stop()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test's own (fault tests kill and restart it; the machine's Redis is never touched)."""
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def customer(db: None) -> User:
    return User.objects.create_user("cust_a", "a@example.com", "pw-123456-x", role=User.Role.CUSTOMER)


@pytest.fixture
def other_customer(db: None) -> User:
    return User.objects.create_user("cust_b", "b@example.com", "pw-123456-x", role=User.Role.CUSTOMER)


@pytest.fixture
def tradesperson(db: None) -> User:
    return User.objects.create_user("trade_x", "x@example.com", "pw-123456-x", role=User.Role.TRADESPERSON)
