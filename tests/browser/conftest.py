"""Browser tests: Playwright for Python driving Debian's chromium against the real stack.

The ``stack`` fixture runs Daphne, the outbox relay, every consumer and the payments
executor as child processes on the test database and topics of their own, exactly like
``make run``; consecutive tests share one stack and one chromium (see ``stack``).
A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from confluent_kafka import Consumer, KafkaException, TopicPartition
from django.conf import settings
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect, sync_playwright

from marketplace.accounts.models import User
from marketplace.events.kafka import group_id, make_consumer
from marketplace.events.management.commands.kafka_topics import wanted_topics
from marketplace.events.models import OutboxEvent
from marketplace.events.registry import CONSUMERS
from payments.models import PaymentOperation
from tests.conftest import delete_topics, use_kafka
from tests.helpers import activate_totp, totp_code
from tests.support import ARTIFACTS, Process, SharedBroker, running_stack

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests
# make are ordinary blocking calls, so let Django allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Playwright's expect() waits 5 s by default, half the context's 10 s for actions.  A UI step that
# makes several requests can take longer than 5 s when three xdist workers, each with its own Daphne,
# consumers and chromium, share two cores; live-push latency is measured in bench/, not here.
expect.set_options(timeout=10_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SLOW_REQUEST_MS = 1000  # logged for a failing test's report


@dataclass
class Stack:
    base_url: str
    processes: list[Process]
    log_starts: dict[str, int] = field(default_factory=dict)  # where the current test's lines begin in each log

    def mark_logs(self) -> None:
        self.log_starts = {process.name: process.log_size() for process in self.processes}

    def test_log(self, process: Process) -> str:
        """What ``process`` logged during the current test (the stack may have served tests before it)."""
        return process.log(since=self.log_starts.get(process.name, 0))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
    log = getattr(item, "browser_log", None)
    if report.when == "call" and report.failed and log:
        # What the pages said and which requests failed or were slow: the first thing to read when a
        # browser test fails only under load, where a screenshot alone cannot tell why.
        report.sections.append(("browser log", "\n".join(log[-200:])))
    stack = getattr(item, "funcargs", {}).get("stack")
    if report.when == "call" and report.failed and isinstance(stack, Stack):
        # And what the server side complained about meanwhile (a stalled broker, a retried batch, a 503).
        for process in stack.processes:
            lines = stack.test_log(process).splitlines()
            complaints = [line for line in lines if '"level": "WARNING"' in line or '"level": "ERROR"' in line]
            if complaints:
                report.sections.append((f"{process.name} warnings and errors", "\n".join(complaints[-60:])))


class Kept:
    """Something expensive kept from one test to the next while the next test wants it too (tests/conftest.py puts
    the tests that want it next to each other), and closed after the last one, before any other test runs."""

    def __init__(self) -> None:
        self.value: Any = None
        self.closers: contextlib.ExitStack | None = None

    def open(self, start: Callable[[contextlib.ExitStack], Any]) -> Any:
        if self.closers is None:
            closers = contextlib.ExitStack()
            try:
                self.value = start(closers)
            except BaseException:
                closers.close()
                raise
            self.closers = closers
        return self.value

    def close(self) -> None:
        closers, self.closers, self.value = self.closers, None, None
        if closers is not None:
            closers.close()


_NEXT_ITEM = pytest.StashKey["pytest.Item | None"]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    item.stash[_NEXT_ITEM] = nextitem  # for the fixtures below: keep what the next test wants, close the rest
    yield


def next_test_wants(request: pytest.FixtureRequest, fixture: str) -> bool:
    nextitem = request.node.stash.get(_NEXT_ITEM, None)
    return nextitem is not None and fixture in getattr(nextitem, "fixturenames", ())


_chromium = Kept()
_stacks = Kept()


@pytest.fixture(scope="session")
def _kept_until_the_end(django_db_setup: None) -> Iterator[None]:
    """Closes what a run stopped early (-x, ^C) left open, before the test database is dropped under the stack."""
    yield
    _stacks.close()
    _chromium.close()


def _launch_chromium(closers: contextlib.ExitStack) -> Browser:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    playwright = closers.enter_context(sync_playwright())
    instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    closers.callback(instance.close)
    return instance


@pytest.fixture
def browser(_kept_until_the_end: None) -> Browser:
    """One chromium for consecutive browser tests (each test gets contexts of its own from ``new_page``).

    Closed after the last browser test in a row: Playwright's sync API keeps an event loop running in the main
    thread while it lives, which other tests' async_to_sync calls must not meet.
    """
    return _chromium.open(_launch_chromium)  # closed by _between_browser_tests


class LagProbe:
    """Whether any of the stack's consumer groups is behind the end of its topics.

    One probe consumer per group, kept while the stack lives (never subscribed, so never in the group's
    rebalances): marketplace.ops.metrics.consumer_lag makes fifteen afresh per call, seconds per idle check.
    """

    def __init__(self) -> None:
        self.probes: list[tuple[Consumer, list[TopicPartition]]] = []
        for spec in CONSUMERS.values():
            probe = make_consumer(group_id(spec.name), "lag-probe")
            partitions = []
            for topic in spec.kafka_topic_names:
                metadata = probe.list_topics(topic, timeout=10).topics.get(topic)
                if metadata is not None and metadata.error is None:
                    partitions += [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
            self.probes.append((probe, partitions))

    def behind(self) -> bool:
        for probe, partitions in self.probes:
            for committed in probe.committed(partitions, timeout=5) if partitions else []:
                _, high = probe.get_watermark_offsets(committed, timeout=5, cached=False)
                if high > max(committed.offset, 0):
                    return True
        return False

    def close(self) -> None:
        for probe, _ in self.probes:
            probe.close()


@dataclass
class SharedStack:
    """The stack consecutive browser tests share, and what a fresh one would not have kept from the test before."""

    stack: Stack
    rate_limit_namespace: str
    content_types: list[tuple[Any, ...]]
    permissions: list[tuple[Any, ...]]
    lag: LagProbe

    def idle(self, timeout: float = 30.0) -> bool:
        """Nothing in flight, twice in a row: every outbox row published, every consumer group at the end of its
        topics, no payment operation due.  (A test's last event may still be on its way when its last check passed.)"""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            quiet = 0 if self.busy() else quiet + 1
            if quiet == 2:
                return True
            time.sleep(0.1)
        return False

    def busy(self) -> bool:
        if OutboxEvent.objects.filter(published_at__isnull=True).exists():
            return True
        due = PaymentOperation.objects.filter(status=PaymentOperation.Status.PENDING, next_attempt_at__lte=timezone.now())
        if due.exists():
            return True
        try:
            return self.lag.behind()
        except KafkaException:  # a broker slow to answer is not an idle one
            return True

    def forget_the_last_test(self) -> None:
        """Sign-in and other rate-limit counters: each test signs the same people in from the same address."""
        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"*ratelimit:{self.rate_limit_namespace}:*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    def restore_content_types(self) -> None:
        """The flush after each test recreates content types and permissions under new ids; the stack's processes
        cache the old ones (ContentType.objects.get_for_model, e.g. the admin's log), so put the old ids back."""
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE django_content_type, auth_permission CASCADE")
            cursor.executemany("INSERT INTO django_content_type (id, app_label, model) VALUES (%s, %s, %s)", self.content_types)
            cursor.executemany(
                "INSERT INTO auth_permission (id, name, content_type_id, codename) VALUES (%s, %s, %s, %s)", self.permissions
            )


def _start_stack(closers: contextlib.ExitStack, kafka_bootstrap: str) -> SharedStack:
    # Topics and consumer groups of the shared stack's own, as tests.conftest's ``broker`` gives each test, kept
    # until the stack closes.
    prefix = f"t{uuid.uuid4().hex[:10]}."
    previous = use_kafka(kafka_bootstrap, prefix)
    names = [name for name, _, _ in wanted_topics()]

    def restore_kafka() -> None:
        settings.KAFKA.clear()
        settings.KAFKA.update(previous)
        delete_topics(kafka_bootstrap, names)

    closers.callback(restore_kafka)
    base_url, processes = closers.enter_context(running_stack(SharedBroker(kafka_bootstrap, prefix), "browser"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label, model FROM django_content_type")
        content_types = cursor.fetchall()
        cursor.execute("SELECT id, name, content_type_id, codename FROM auth_permission")
        permissions = cursor.fetchall()
    lag = LagProbe()
    closers.callback(lag.close)
    return SharedStack(Stack(base_url, processes), processes[0].env["RATE_LIMIT_NAMESPACE"], content_types, permissions, lag)


@pytest.fixture(autouse=True)
def _between_browser_tests(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Autouse, so set up before ``transactional_db`` and torn down after its flush of the test's tables."""
    yield
    shared: SharedStack | None = _stacks.value
    if shared is not None:
        with django_db_blocker.unblock():
            shared.restore_content_types()
    if not next_test_wants(request, "browser"):
        # After the flush: while Playwright's event loop runs, Django (asgiref) gives this thread's code a second
        # database connection, which only a flush made while it still runs closes; one left open keeps the test
        # database from being dropped at the end.
        _chromium.close()


@pytest.fixture
def stack(transactional_db: None, kafka_bootstrap: str, request: pytest.FixtureRequest, _kept_until_the_end: None) -> Iterator[Stack]:
    """Daphne, the relay, every consumer and the payments executor on the test database, as ``make run`` starts them.

    Starting one costs four Django processes, so consecutive tests share one: after each test it waits until nothing
    is in flight (so the flush of the test's tables meets no half-done work) and forgets the test's rate-limit
    counters.  A failed test, a dead process or a stack that does not settle gets a fresh stack for the next test.
    A test that needs other settings (environment) starts its own with tests.support.running_stack.
    """
    shared: SharedStack = _stacks.open(lambda closers: _start_stack(closers, kafka_bootstrap))
    shared.stack.mark_logs()
    yield shared.stack
    report = getattr(request.node, "rep_call", None)
    processes_alive = all(p.proc is not None and p.proc.poll() is None for p in shared.stack.processes)
    if report is not None and report.passed and processes_alive and next_test_wants(request, "stack") and shared.idle():
        shared.forget_the_last_test()
    else:
        _stacks.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[callable]:  # type: ignore[valid-type]
    """Factory for pages in separate browser contexts (separate people, separate cookies)."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []
    log: list[str] = []
    request.node.browser_log = log
    started = time.monotonic()

    def note(index: int, text: str) -> None:
        log.append(f"{time.monotonic() - started:8.3f}s page {index}: {text}")

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        index = len(pages)
        page.on("console", lambda msg: note_console(index, page, msg))
        page.on("pageerror", lambda exc: note(index, f"page error: {exc}"))
        page.on("requestfailed", lambda req: note(index, f"request failed: {req.method} {req.url} ({req.failure})"))
        page.on("requestfinished", lambda req: note_finished(index, req))
        pages.append(page)
        return page

    def note_finished(index: int, req: Request) -> None:
        timing = req.timing
        took_ms = timing["responseEnd"] - timing["requestStart"] if timing["requestStart"] >= 0 else -1
        response = req.response()
        status = response.status if response is not None else 0
        if status >= 400 or took_ms > SLOW_REQUEST_MS:
            note(index, f"{req.method} {req.url} -> {status} in {took_ms:.0f} ms")

    violations: list[str] = []

    def note_console(index: int, page: Page, msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            note(index, f"console {msg.type}: {msg.text}")
        # A script the Content-Security-Policy blocks is a page that silently does nothing: fail on it.
        if "Content Security Policy" in msg.text:
            violations.append(f"{page.url}: {msg.text}")

    yield make
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(pages):
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}.png"), full_page=True)
    for context in contexts:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def log_in(page: Page, base_url: str, username: str, password: str = "pw-123456-x") -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def log_in_staff(page: Page, base_url: str, username: str, password: str = "pw-123456-x") -> None:
    """Staff need TOTP (marketplace/accounts/middleware.py): give the account an authenticator, then sign in
    with the password and type the code the app would show."""
    user = User.objects.get(username=username)
    secret = activate_totp(user)
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/accounts/2fa/authenticate/")
    page.get_by_label("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")
