"""The one factory for Kafka clients: every producer, consumer and admin client is built here.

Configuration comes from ``settings.KAFKA`` (environment variables), so the same
code talks to the development broker, a CI broker on another port, or a managed
cluster with SASL/TLS. There are no test branches here.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from django.conf import settings


def _common(client_suffix: str) -> dict[str, Any]:
    cfg = settings.KAFKA
    conf: dict[str, Any] = {
        "bootstrap.servers": cfg["BOOTSTRAP_SERVERS"],
        "client.id": f"{cfg['CLIENT_ID']}-{client_suffix}",
        "security.protocol": cfg["SECURITY_PROTOCOL"],
        # Topics exist only as declared in topics.py (manage.py kafka_topics): a client
        # must never create one with the broker's default partition count.
        "allow.auto.create.topics": False,
        # librdkafka's own log lines go through Python logging, not raw stderr.
        "logger": logging.getLogger("librdkafka"),
    }
    if cfg["SASL_MECHANISM"]:
        conf["sasl.mechanism"] = cfg["SASL_MECHANISM"]
        conf["sasl.username"] = cfg["SASL_USERNAME"]
        conf["sasl.password"] = cfg["SASL_PASSWORD"]
    if cfg["SSL_CA_LOCATION"]:
        conf["ssl.ca.location"] = cfg["SSL_CA_LOCATION"]
    return conf


def producer_config(client_suffix: str = "producer", **overrides: Any) -> dict[str, Any]:
    conf = _common(client_suffix)
    conf.update(
        {
            # Idempotent producer: no duplicates from internal retries and per-partition
            # order kept even when a request is retried.
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "none",
            # Every message gets a delivery report within this time (delivered or failed),
            # so the relay always knows what to mark as published.
            "message.timeout.ms": 15000,
            "reconnect.backoff.max.ms": 2000,
        }
    )
    conf.update(overrides)
    return conf


def consumer_config(group_id: str, client_suffix: str = "consumer", **overrides: Any) -> dict[str, Any]:
    conf = _common(client_suffix)
    conf.update(
        {
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            # Offsets are stored and committed by the runner only after the batch's
            # database transaction has committed.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            # Within the broker's group.min/max.session.timeout.ms; heartbeats at a third of it, as Kafka advises.
            "session.timeout.ms": int(settings.KAFKA["SESSION_TIMEOUT_MS"]),
            "heartbeat.interval.ms": max(1000, int(settings.KAFKA["SESSION_TIMEOUT_MS"]) // 3),
            "max.poll.interval.ms": 300000,
            # Incremental rebalancing: a member joining or leaving moves only the partitions that change
            # owner; the others keep consuming through it (a rolling restart does not stop the group).
            "partition.assignment.strategy": settings.KAFKA["ASSIGNMENT_STRATEGY"],
            "fetch.wait.max.ms": int(settings.KAFKA["FETCH_WAIT_MAX_MS"]),
            "reconnect.backoff.max.ms": 2000,
        }
    )
    conf.update(overrides)
    return conf


def group_id(consumer_name: str) -> str:
    return f"{settings.KAFKA['GROUP_PREFIX']}.{consumer_name}"


def make_producer(client_suffix: str = "producer", **overrides: Any) -> Producer:
    return Producer(producer_config(client_suffix, **overrides))


def make_consumer(group: str, client_suffix: str = "consumer", **overrides: Any) -> Consumer:
    return Consumer(consumer_config(group, client_suffix, **overrides))


def make_admin() -> AdminClient:
    return AdminClient(_common("admin"))
