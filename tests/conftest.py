"""Shared fixtures. Integration tests use the real Postgres, Redis and a real broker."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from marketplace.accounts.models import User
from marketplace.devbroker import KafkaNode
from marketplace.events.kafka import make_admin
from marketplace.events.management.commands.kafka_topics import wanted_topics

from .factories import CustomerFactory, TradespersonFactory
from .support import ARTIFACTS, Broker, PrivateRedis, SharedBroker, wait_until


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser = [item for item in items if item.get_closest_marker("browser") is not None]
    # Those on the shared stack next to each other (tests/browser/conftest.py keeps one stack while the next test
    # wants it), the rest (their own stack, a live server, none) after them.
    browser.sort(key=lambda item: "stack" not in getattr(item, "fixturenames", ()))
    others = [item for item in items if item.get_closest_marker("browser") is None]
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under xdist (`make test` runs -n 3 --dist loadgroup) the browser tests share one worker, one at
        # a time: each starts a whole stack (web, relay, a process per consumer, a broker) plus chromium,
        # and three of those at once on two cores time out.  They go first, so that worker starts on
        # the longest chain at once while the other workers share everything else.
        # BROWSER_GROUPS=2 splits them by file over two workers (two stacks, two chromiums at once).
        groups = max(1, int(os.environ.get("BROWSER_GROUPS", "1")))
        files = sorted({item.path for item in browser})
        for item in browser:
            item.add_marker(pytest.mark.xdist_group(f"browser{files.index(item.path) % groups}"))
        items[:] = browser + others
    else:
        # In one process, browser tests last: they are the slowest, and a fast failure elsewhere should show first.
        items[:] = others + browser


@pytest.fixture(autouse=True, scope="session")
def _clock() -> Iterator[None]:
    """TEST_CLOCK=2027-02-28T23:30:00Z runs this process's tests as if it were then (the clock ticks on).

    The suite must pass on any date; scripts/clock_sweep.sh runs it at awkward ones (31 December, 29 February,
    the days the clocks change).  Child processes (web, consumers) and Postgres's now() keep the real time, so
    the sweep runs the in-process tests.  Unset, nothing is changed.
    """
    when = os.environ.get("TEST_CLOCK")
    if not when:
        yield
        return
    with time_machine.travel(datetime.fromisoformat(when.replace("Z", "+00:00")), tick=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _isolated_channel_layer() -> None:
    # Our own Redis key prefix, so a dev stack running on the same Redis never sees test pushes.
    config: dict[str, Any] = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    config["prefix"] = f"test{os.getpid()}"


@pytest.fixture(autouse=True, scope="session")
def _own_heartbeat_dir() -> None:
    # Consumer runners and relays under test write heartbeat files (marketplace/ops/heartbeat.py): into a directory
    # of this run's own (children inherit it through HEALTH_DIR), never over a dev stack's in var/health.
    directory = ARTIFACTS / f"health-{os.getpid()}"
    settings.HEALTH["DIR"] = os.environ["HEALTH_DIR"] = str(directory)


@pytest.fixture(autouse=True, scope="session")
def _generous_rate_limits() -> None:
    # Fixtures post many jobs and bids per user within seconds; tests/test_rate_limits.py sets real limits itself.
    # A namespace of our own keeps counters from other runs (or a dev stack) on the same Redis out.
    settings.RATE_LIMIT_NAMESPACE = f"test{os.getpid()}-{uuid.uuid4().hex[:8]}"
    settings.RATE_LIMITS = {scope: (limit * 1000, seconds) for scope, (limit, seconds) in settings.RATE_LIMITS.items()}


@pytest.fixture(autouse=True, scope="session")
def _deliveries_sent_after_commit_in_process() -> None:
    # In-process tests roll their transactions back, so no delivery worker would ever see their rows: email and SMS go
    # out in the test's own process after the (captured) commit.  Stack processes keep the worker (tests/support.py),
    # and tests/notifications/test_delivery_worker.py checks the worker itself.
    settings.NOTIFICATIONS["DELIVERY"] = "after_commit"


@pytest.fixture(autouse=True, scope="session")
def _staff_totp_not_required_in_process() -> None:
    # Many tests open admin as a force_login'd staff user; tests/web/test_account_security.py turns the rule on and
    # checks it.  The browser tests' stack processes keep it on (the settings default): staff there sign in with a code.
    settings.STAFF_REQUIRE_TOTP = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    # PBKDF2 costs most of a second per user on this machine, and most tests create several users.
    # Browser tests keep the real hasher: their stack processes must verify the passwords they type.
    if request.node.get_closest_marker("browser") is not None:
        yield
        return
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):  # also resets the hasher cache
        yield


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The test run's Apache Kafka broker: one JVM for the whole run, never one per test.

    ``make test`` starts one for all xdist workers and names it in TEST_KAFKA_BOOTSTRAP_SERVERS;
    a bare ``pytest`` run starts one here (per worker) and stops it at the end.
    """
    shared = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if shared:
        yield shared
        return
    node = KafkaNode(ARTIFACTS / "kafka-session")
    shutil.rmtree(node.data_dir, ignore_errors=True)
    node.start()
    try:
        yield node.bootstrap
    finally:
        node.stop()


def use_kafka(bootstrap: str, topic_prefix: str) -> dict[str, Any]:
    previous = dict(settings.KAFKA)
    settings.KAFKA["BOOTSTRAP_SERVERS"] = bootstrap
    settings.KAFKA["TOPIC_PREFIX"] = topic_prefix
    settings.KAFKA["GROUP_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
    call_command("kafka_topics", wait=30, verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    _wait_for_metadata([name for name, _, _ in wanted_topics()])
    return previous


def _wait_for_metadata(names: list[str]) -> None:
    """Created is not yet visible: the broker learns of new topics from the controller a moment later
    (longer on a busy machine), and a test's first metadata request must not see them missing."""
    admin = make_admin()

    def visible() -> bool:
        topics = admin.list_topics(timeout=10).topics
        return all(name in topics and topics[name].error is None and topics[name].partitions for name in names)

    wait_until(visible, timeout=30, message="the broker's metadata to show the test's topics")


@pytest.fixture
def broker(kafka_bootstrap: str) -> Iterator[SharedBroker]:
    """The run's broker with topics and consumer groups of this test's own (a fresh prefix), deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    previous = use_kafka(kafka_bootstrap, prefix)
    try:
        yield SharedBroker(kafka_bootstrap, prefix)
    finally:
        names = [name for name, _, _ in wanted_topics()]
        settings.KAFKA.clear()
        settings.KAFKA.update(previous)
        # Deleted so that hundreds of tests do not leave thousands of partitions on one broker.
        delete_topics(kafka_bootstrap, names)


def delete_topics(bootstrap: str, names: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(names, operation_timeout=10, request_timeout=15).values():
        with contextlib.suppress(Exception):  # a test that deleted one itself, or a slow broker: nothing to keep
            future.result()


@pytest.fixture
def private_broker() -> Iterator[Broker]:
    """An Apache Kafka broker of this test's own, for tests that stop, kill or wipe it."""
    instance = Broker()
    instance.start()
    previous = use_kafka(instance.bootstrap, "")
    try:
        yield instance
    finally:
        settings.KAFKA.clear()
        settings.KAFKA.update(previous)
        instance.remove()


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
    return CustomerFactory.create(username="cust_a", email="a@example.com")


@pytest.fixture
def other_customer(db: None) -> User:
    return CustomerFactory.create(username="cust_b", email="b@example.com")


@pytest.fixture
def tradesperson(db: None) -> User:
    """A tradesperson without a profile (tests add one with tests.factories.make_profile when they need it)."""
    return TradespersonFactory.create(username="trade_x", email="x@example.com")
