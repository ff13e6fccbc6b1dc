"""Browser tests: Playwright for Python driving Debian's chromium against the real stack.

The ``stack`` fixture runs Daphne, the outbox relay and every consumer as child
processes on the test database and a fresh broker, exactly like ``make run``.
A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, expect, sync_playwright

from marketplace.accounts.models import User
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
            complaints = [line for line in process.log().splitlines() if '"level": "WARNING"' in line or '"level": "ERROR"' in line]
            if complaints:
                report.sections.append((f"{process.name} warnings and errors", "\n".join(complaints[-60:])))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running in the main
    # thread while it lives, which other tests' async_to_sync calls must not meet.
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def stack(broker: SharedBroker, transactional_db: None) -> Iterator[Stack]:
    with running_stack(broker, "browser") as (base_url, processes):
        yield Stack(base_url, processes)


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
