"""The Prometheus rules and the Grafana dashboard in ops/: promtool checks and unit-tests the rules; every
expression names only metrics our processes export (a renamed metric breaks this test, not the pager)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.registry import Collector

from marketplace.events.registry import CONSUMERS
from marketplace.ops.metrics import BackboneCollector, RelayCollector, RunnerCollector

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "rules.yml"
RULES_TEST = ROOT / "ops" / "prometheus" / "rules_test.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "tradelink.json"
# Series Prometheus itself makes, not our processes.
PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        install = "apt-get install --no-install-recommends prometheus"
        pytest.fail(f"promtool is missing: install Debian's prometheus package ({install}); scripts/test.sh does")
    return path


def run_promtool(*args: str) -> str:
    done = subprocess.run([promtool(), *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, groupings, ranges, strings and functions removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if match[2] or match[1] in KEYWORDS:
            continue  # a function or an aggregation, or a keyword
        names.add(match[1])
    return names


def exported_names() -> set[str]:
    """Every metric name our processes serve: the web's registry with the backbone, a relay's and a consumer's collectors."""
    relay = SimpleNamespace(published_total=0, failed_total=0)
    runner = SimpleNamespace(
        spec=next(iter(CONSUMERS.values())), stats=SimpleNamespace(processed=0, duplicates=0, dead_lettered=0, retries=0, batches=0)
    )
    collectors: list[Any] = [REGISTRY, BackboneCollector(), RelayCollector(relay), RunnerCollector(runner)]  # type: ignore[arg-type]
    names: set[str] = set()
    for collector in collectors:
        source: Collector = collector
        for family in source.collect():
            names.add(family.name)
            if family.type == "counter":
                names.add(f"{family.name}_total")
            if family.type == "histogram":
                names |= {f"{family.name}_bucket", f"{family.name}_count", f"{family.name}_sum"}
            names |= {sample.name for sample in family.samples}
    return names


def rule_exprs() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    assert "SUCCESS: 9 rules found" in run_promtool("check", "rules", RULES.name)


def test_the_rules_unit_tests_pass() -> None:
    assert "SUCCESS" in run_promtool("test", "rules", RULES_TEST.name)


def test_the_metric_name_parser_finds_metrics_not_functions_or_labels() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{status=~"5.."}[5m]))) / up > 0'
    assert metric_names(expr) == {"http_request_duration_seconds_bucket", "up"}
    assert metric_names("max without (instance) (sum without (topic, partition) (consumer_lag)) > 1000") == {"consumer_lag"}


@pytest.mark.django_db
def test_every_rule_and_panel_reads_metrics_we_export() -> None:
    exported = exported_names() | PROMETHEUS_OWN
    assert {
        "consumer_lag",
        "outbox_oldest_unpublished_age_seconds",
        "outbox_relay_stalled_seconds",
        "dead_letters_recorded_total",
    } <= exported
    assert "dependency_up" in exported and "http_request_duration_seconds_count" in exported
    alerts = dict(rule_exprs())
    assert {
        "ConsumerLagHigh",
        "OutboxEventsWaiting",
        "OutboxRelayStalled",
        "DeadLettersGrowing",
        "WebServerErrors",
        "DependencyDown",
    } <= set(alerts)
    for name, expr in alerts.items():
        found = metric_names(expr)
        assert found and found <= exported, f"rule {name} reads {sorted(found - exported)}, which no process exports"

    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len(panels) >= 10 and len({p["id"] for p in panels}) == len(panels)
    read: set[str] = set()
    for panel in panels:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            found = metric_names(target["expr"])
            assert found and found <= exported, f"panel {panel['title']!r} reads {sorted(found - exported)}, which no process exports"
            read |= found
    # The dashboard shows what the rules page on.
    assert {name for expr in alerts.values() for name in metric_names(expr)} - PROMETHEUS_OWN <= read
    for panel in panels:  # nothing off a 24-column grid
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
