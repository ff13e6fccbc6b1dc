"""The declared Kafka topic map: the one place that says which topics exist.

`manage.py kafka_topics` creates or updates them idempotently.  Every topic has a
dead-letter twin (``<name>.dlq``) that consumers route poison messages to.

Compacted topics (``cleanup_policy="compact"``) keep the latest message per key and
may carry tombstones (:func:`~marketplace.events.outbox.emit_tombstone`: null value,
envelope in a header) that delete a key.  Two settings matter for consumers:

- ``delete.retention.ms`` (1 day): how long a tombstone stays readable after the
  compactor has removed the older values of its key.  A consumer group that lags
  more than this can miss the tombstone; it then never sees that key again, which is
  also where a rebuild from the log ends up.
- ``min.compaction.lag.ms`` (1 hour): a value stays uncompacted at least this long,
  so a consumer that is at most this far behind sees every snapshot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.conf import settings

HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS
CLEANUP_POLICIES = ("delete", "compact", "compact,delete")


class Topic(enum.StrEnum):
    # Everything that happens to a job (posting, leads, bids, awards, ...), keyed by job id.
    JOBS = "marketplace.jobs"
    # The current state of each payment, keyed by payment id; compacted, a tombstone when settled.
    PAYMENTS = "marketplace.payments"
    # Payouts to tradespeople (created, on their way, paid, failed), keyed by payout id; kept for the finance rebuild.
    PAYOUTS = "marketplace.payouts"
    # GPS pings of tradespeople on their way, keyed by worker id; high volume, kept for a day.
    TRACKING = "marketplace.tracking"


@dataclass(frozen=True)
class TopicSpec:
    topic: Topic
    partitions: int
    cleanup_policy: str = "delete"  # "delete", "compact" or "compact,delete"
    retention_ms: int = 7 * DAY_MS  # -1 keeps forever
    description: str = ""
    # Compacted topics only (see the module docstring).
    delete_retention_ms: int = DAY_MS
    min_compaction_lag_ms: int = HOUR_MS

    def __post_init__(self) -> None:
        if self.cleanup_policy not in CLEANUP_POLICIES:
            raise ValueError(f"{self.topic}: cleanup_policy must be one of {CLEANUP_POLICIES}, not {self.cleanup_policy!r}")
        if self.retention_ms != -1 and self.retention_ms <= 0:
            raise ValueError(f"{self.topic}: retention_ms must be positive or -1 (forever), not {self.retention_ms}")

    @property
    def name(self) -> str:
        return str(self.topic)

    @property
    def compacted(self) -> bool:
        """True if the broker keeps the latest value per key (so tombstones mean something)."""
        return "compact" in self.cleanup_policy.split(",")

    @property
    def dlq_name(self) -> str:
        return dead_letter_topic(self.topic)

    def config(self) -> dict[str, str]:
        config = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if self.compacted:
            config["delete.retention.ms"] = str(self.delete_retention_ms)
            config["min.compaction.lag.ms"] = str(self.min_compaction_lag_ms)
        return config


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def kafka_topic(topic: str) -> str:
    """The name a declared topic has on the broker: ``settings.KAFKA["TOPIC_PREFIX"]`` + its declared name.

    The prefix lets several environments (or test runs) share one cluster without seeing each
    other's events; it is empty by default.  Only the code that talks to the broker (relay,
    runner, pings producer, replay, topic creation, lag probe) uses this; rows in the
    database (outbox) keep the declared name.
    """
    return f"{settings.KAFKA.get('TOPIC_PREFIX', '')}{topic}"


DLQ_RETENTION_MS = 30 * DAY_MS

TOPICS: dict[Topic, TopicSpec] = {
    Topic.JOBS: TopicSpec(
        Topic.JOBS,
        partitions=6,
        retention_ms=30 * DAY_MS,
        description="Job lifecycle, leads and bids; key = job id.",
    ),
    Topic.PAYMENTS: TopicSpec(
        Topic.PAYMENTS,
        partitions=3,
        cleanup_policy="compact",
        retention_ms=-1,
        description="Payment state snapshots; key = payment id; compacted; a tombstone (null value) once settled.",
    ),
    Topic.PAYOUTS: TopicSpec(
        Topic.PAYOUTS,
        partitions=3,
        retention_ms=-1,  # few and small; the finance read model is rebuilt from all of them
        description="Payout lifecycle (payout.created, in_transit, paid, failed); key = payout id.",
    ),
    Topic.TRACKING: TopicSpec(
        Topic.TRACKING,
        partitions=12,
        retention_ms=DAY_MS,
        description="GPS pings (tracking.ping) produced straight from the request, not the outbox; key = worker id.",
    ),
}


def topic_spec(topic: str) -> TopicSpec:
    try:
        return TOPICS[Topic(topic)]
    except (ValueError, KeyError):
        raise LookupError(f"Topic {topic!r} is not declared in marketplace.events.topics.") from None


def all_topic_configs() -> list[tuple[str, int, dict[str, str]]]:
    """(name, partitions, config) for every topic and its dead-letter topic."""
    result: list[tuple[str, int, dict[str, str]]] = []
    for spec in TOPICS.values():
        result.append((spec.name, spec.partitions, spec.config()))
        result.append((spec.dlq_name, 1, {"cleanup.policy": "delete", "retention.ms": str(DLQ_RETENTION_MS)}))
    return result
