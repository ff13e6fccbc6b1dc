"""``manage.py kafka_topics`` against Apache Kafka: topics as declared, partitions never added silently."""

from __future__ import annotations

import io

import pytest
from confluent_kafka.admin import NewTopic
from django.conf import settings
from django.core.management import CommandError, call_command

from marketplace.events.kafka import make_admin
from marketplace.events.topics import TOPICS, Topic, kafka_topic
from tests.support import wait_until


def partitions_of(name: str) -> int:
    return len(make_admin().list_topics(name, timeout=10).topics[name].partitions)


def test_every_declared_topic_exists_with_its_partitions_replication_and_min_insync_replicas(broker) -> None:
    admin = make_admin()
    for spec in TOPICS.values():
        name = kafka_topic(spec.topic)
        metadata = admin.list_topics(name, timeout=10).topics[name]
        assert len(metadata.partitions) == spec.partitions
        assert all(len(p.replicas) == settings.KAFKA["REPLICATION_FACTOR"] for p in metadata.partitions.values())
        assert partitions_of(f"{name}.dlq") == 1
    assert settings.KAFKA["MIN_INSYNC_REPLICAS"] == 1  # development: one broker


def test_a_topic_with_fewer_partitions_is_reported_and_left_alone_until_asked(broker) -> None:
    # As if the jobs topic had been created before its partition count was raised in topics.py.
    declared = TOPICS[Topic.JOBS].partitions
    settings.KAFKA["TOPIC_PREFIX"] = f"{broker.topic_prefix}small."
    name = kafka_topic(Topic.JOBS)
    admin = make_admin()
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])[name].result(timeout=15)
    # A new topic reaches the broker's metadata a moment after the controller accepted it.
    wait_until(lambda: name in make_admin().list_topics(timeout=10).topics, timeout=10, message="the short topic")

    out, err = io.StringIO(), io.StringIO()
    call_command("kafka_topics", wait=10, stdout=out, stderr=err)
    assert f"{name} has 2 partitions, {declared} declared: not changed" in err.getvalue()
    assert "--add-partitions marketplace.jobs" in err.getvalue()  # the declared name, what the operator types
    assert partitions_of(name) == 2  # keys of a job stay where they are

    out = io.StringIO()
    call_command("kafka_topics", "--add-partitions", "marketplace.jobs", wait=10, stdout=out, stderr=io.StringIO())
    assert f"grew {name} from 2 to {declared} partitions" in out.getvalue()
    wait_until(lambda: partitions_of(name) == declared, timeout=10, message="the new partitions")

    with pytest.raises(CommandError, match="names no declared topic"):
        call_command("kafka_topics", "--add-partitions", "marketplace.nothing", wait=10, stdout=io.StringIO(), stderr=io.StringIO())
    make_admin().delete_topics([kafka_topic(t) for t in TOPICS] + [f"{kafka_topic(t)}.dlq" for t in TOPICS])
    settings.KAFKA["TOPIC_PREFIX"] = broker.topic_prefix  # the fixture deletes its own
