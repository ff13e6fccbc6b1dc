"""The deployment files stay in step with the code (they cannot be run here)."""

from __future__ import annotations

import yaml

from marketplace.events.registry import CONSUMERS
from tests.support import ROOT


def test_procfile_runs_the_relay_and_one_process_per_consumer_group() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "manage.py outbox_relay" in lines["relay"]
    for name in CONSUMERS:
        assert f"manage.py consume {name}" in lines[f"consumer-{name}"], f"Procfile lacks consumer-{name}"


def test_compose_runs_web_relay_and_consumers_against_real_kafka() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "kafka", "migrate", "web", "relay", "consumers"} <= services.keys()
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
