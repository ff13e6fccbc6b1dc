"""The deployment files stay in step with the code (they cannot be run here)."""

from __future__ import annotations

import yaml
from django.conf import settings

from marketplace.devbroker import kafka_version
from marketplace.events.registry import CONSUMERS
from tests.support import ROOT


def test_procfile_runs_the_relay_and_one_process_per_consumer_group() -> None:
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "manage.py outbox_relay" in lines["relay"]
    assert "manage.py payments_executor" in lines["payments-executor"]
    assert "manage.py deliver" in lines["deliveries"]
    for name in CONSUMERS:
        assert f"manage.py consume {name}" in lines[f"consumer-{name}"], f"Procfile lacks consumer-{name}"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_web_relay_and_one_service_per_consumer_group_against_a_three_broker_cluster() -> None:
    services = _compose()["services"]
    processes = {"migrate", "web", "relay", "clock", "payments-executor"}
    assert {"postgres", "redis", "kafka-1", "kafka-2", "kafka-3", *processes} <= services.keys()
    assert services["payments-executor"]["command"] == ["python", "manage.py", "payments_executor"]
    for name in CONSUMERS:
        service = services[f"consumer-{name}"]
        assert service["command"] == ["python", "manage.py", "consume", name]
        assert service["environment"]["KAFKA_GROUP_INSTANCE_ID"]  # static membership: restarts without a rebalance
    assert not any("--all" in " ".join(service.get("command", [])) for service in services.values())
    instance_ids = [services[f"consumer-{name}"]["environment"]["KAFKA_GROUP_INSTANCE_ID"] for name in CONSUMERS]
    assert len(set(instance_ids)) == len(instance_ids)


def test_compose_uses_the_development_kafka_version_with_production_replication() -> None:
    services = _compose()["services"]
    version = kafka_version()
    for node in ("kafka-1", "kafka-2", "kafka-3"):
        kafka = services[node]
        assert kafka["image"] == f"apache/kafka:{version}", "compose.yaml and broker/pom.xml must run the same Kafka"
        assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
        assert kafka["environment"]["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert kafka["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 3
    app = services["relay"]["environment"]
    assert (app["KAFKA_REPLICATION_FACTOR"], app["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    assert len(app["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == 3


def test_compose_checks_web_health_serves_metrics_and_keeps_media_on_a_volume() -> None:
    compose = _compose()
    services = compose["services"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])  # the database only, so a Kafka outage keeps it in
    for name in ("relay", "payments-executor", *(f"consumer-{n}" for n in CONSUMERS)):
        assert services[name]["environment"]["METRICS_PORT"]
        assert "media:/app/var/media" in services[name]["volumes"]
    assert "media" in compose["volumes"]
    assert services["web"]["environment"]["MEDIA_ROOT"] == "/app/var/media"


def test_compose_fetch_and_group_settings_are_the_development_defaults() -> None:
    """Production parity: the same fetch wait as development; only the session timeout differs (DEBUG)."""
    app = _compose()["services"]["web"]["environment"]
    assert int(app["KAFKA_FETCH_WAIT_MAX_MS"]) == settings.KAFKA["FETCH_WAIT_MAX_MS"]
    assert int(app["KAFKA_SESSION_TIMEOUT_MS"]) == 45000


def test_compose_probes_the_liveness_of_every_long_running_process() -> None:
    """Each loop's heartbeat (marketplace/ops/heartbeat.py) is read by the probe under the name the process writes."""
    services = _compose()["services"]
    expected = {"relay": "relay", "clock": "clock", "payments-executor": "payments-executor", "deliveries": "deliveries"}
    expected.update({f"consumer-{name}": "consumer-*" for name in CONSUMERS})  # one consumer per container
    for service, name in expected.items():
        test = services[service]["healthcheck"]["test"]
        assert test == ["CMD", "python", "-m", "marketplace.ops.probe", name], service
        assert services[service]["environment"]["HEALTH_DIR"]
