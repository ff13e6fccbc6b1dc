"""The periodic-task registry and the clock that runs it; the backbone imports none of the apps above it."""

from __future__ import annotations

import ast
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from marketplace.events import periodic
from marketplace.events.periodic import PERIODIC_TASKS, Outcome, PeriodicTask, Schedule, register, run_due

FEATURE_APPS = {
    "jobs",
    "quotes",
    "payments",
    "finance",
    "timeline",
    "scheduling",
    "tracking",
    "chat",
    "reviews",
    "insights",
    "alerts",
    "gateway_simulator",
}
EVENTS = Path(periodic.__file__).parent


def test_each_app_registers_its_own_tasks() -> None:
    assert list(PERIODIC_TASKS) == [
        "notifications.send_pending",
        "privacy.purge_expired",
        "jobs.expire_and_widen",
        "jobs.expire_credentials",
        "payments.release_orphaned_holds",
        "payments.payout_run",
        "payments.payout_poll",
        "payments.overdue_operations",
        "payments.auto_approve",
        "quotes.invoice_emails",
        "quotes.service_plans",
        "scheduling.reminders",
        "alerts.backbone_paging",
        "alerts.due_and_webhooks",
    ]
    assert PERIODIC_TASKS["privacy.purge_expired"].every_s == 3600  # GPS trails among its purges (tracking/privacy.py)


def test_the_backbone_and_the_clock_import_no_feature_app_nor_the_live_pushes() -> None:
    for path in EVENTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FEATURE_APPS, f"{path} imports {name}"
                assert not name.startswith("marketplace.realtime"), f"{path} imports {name}"


def test_a_task_with_an_interval_runs_at_once_then_only_when_it_is_due(monkeypatch) -> None:
    runs: list[str] = []

    def recorder(name: str) -> Callable[[], Outcome]:
        def run() -> Outcome:
            runs.append(name)
            return Outcome(0, "")

        return run

    hourly = PeriodicTask("test.hourly", recorder("hourly"), every_s=3600)
    always = PeriodicTask("test.always", recorder("always"))
    monkeypatch.setattr(periodic, "PERIODIC_TASKS", {t.name: t for t in (hourly, always)})
    now = [1000.0]
    schedule = Schedule(clock=lambda: now[0])
    list(run_due(schedule))
    now[0] += 3599
    list(run_due(schedule))
    now[0] += 1
    list(run_due(schedule))
    assert runs == ["hourly", "always", "always", "hourly", "always"]


def test_a_failing_task_ends_the_pass_and_stays_due(monkeypatch) -> None:
    calls = {"n": 0}

    def flaky() -> Outcome:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database away")
        return Outcome(1, "did one")

    task = PeriodicTask("test.flaky", flaky, every_s=3600)
    after = PeriodicTask("test.after", lambda: Outcome(0, "after"))
    monkeypatch.setattr(periodic, "PERIODIC_TASKS", {t.name: t for t in (task, after)})
    schedule = Schedule(clock=lambda: 0.0)
    with pytest.raises(RuntimeError):
        list(run_due(schedule))
    assert [(t.name, o.summary) for t, o in run_due(schedule)] == [("test.flaky", "did one"), ("test.after", "after")]


def test_two_tasks_cannot_share_a_name(monkeypatch) -> None:
    monkeypatch.setattr(periodic, "PERIODIC_TASKS", {})
    first = PeriodicTask("test.same", lambda: Outcome(0, ""))
    register(first)
    register(first)  # a module imported twice registers the same task again: harmless
    with pytest.raises(ImproperlyConfigured, match=r"test\.same"):
        register(PeriodicTask("test.same", lambda: Outcome(0, "")))


@pytest.mark.django_db
def test_clock_once_prints_one_line_per_task() -> None:
    out = StringIO()
    call_command("clock", "--once", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == list(PERIODIC_TASKS)
    assert "jobs.expire_and_widen: expired 0 job(s), widened matching (or opened a direct request) for 0" in lines
