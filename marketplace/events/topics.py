"""The declared Kafka topic map: the one place that says which topics exist.

`manage.py kafka_topics` creates or updates them idempotently.  Every topic has a
dead-letter twin (``<name>.dlq``) that consumers route poison messages to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


class Topic(enum.StrEnum):
    # Everything that happens to a job (posting, leads, bids, awards, ...), keyed by job id.
    JOBS = "marketplace.jobs"


@dataclass(frozen=True)
class TopicSpec:
    topic: Topic
    partitions: int
    cleanup_policy: str = "delete"  # "delete" or "compact"
    retention_ms: int = 7 * DAY_MS  # -1 keeps forever
    description: str = ""

    @property
    def name(self) -> str:
        return str(self.topic)

    @property
    def dlq_name(self) -> str:
        return dead_letter_topic(self.topic)

    def config(self) -> dict[str, str]:
        return {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


DLQ_RETENTION_MS = 30 * DAY_MS

TOPICS: dict[Topic, TopicSpec] = {
    Topic.JOBS: TopicSpec(
        Topic.JOBS,
        partitions=6,
        retention_ms=30 * DAY_MS,
        description="Job lifecycle, leads and bids; key = job id.",
    ),
}


def all_topic_configs() -> list[tuple[str, int, dict[str, str]]]:
    """(name, partitions, config) for every topic and its dead-letter topic."""
    result: list[tuple[str, int, dict[str, str]]] = []
    for spec in TOPICS.values():
        result.append((spec.name, spec.partitions, spec.config()))
        result.append((spec.dlq_name, 1, {"cleanup.policy": "delete", "retention.ms": str(DLQ_RETENTION_MS)}))
    return result
