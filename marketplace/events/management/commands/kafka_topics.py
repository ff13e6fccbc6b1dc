"""Create the declared Kafka topics and keep their configs as declared (idempotent).

- A missing topic is created with the declared partitions, ``settings.KAFKA["REPLICATION_FACTOR"]``
  and the declared config (plus ``min.insync.replicas``).
- An existing topic's config is compared with ``describe_configs`` and the differing keys are
  SET with ``incremental_alter_configs`` (other keys are left alone).
- Partitions are never added silently.  Adding partitions moves keys to other partitions, so
  events of one job could be read out of order while the old partition still holds some of
  them.  A topic with fewer partitions than declared is reported, and grown only with
  ``--add-partitions TOPIC`` (README: "Growing a topic").  Kafka cannot remove partitions, so a
  topic with more than declared is reported and left as it is.

Names are the declared names with ``KAFKA_TOPIC_PREFIX`` in front (topics.kafka_topic).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.events.kafka import make_admin
from marketplace.events.topics import all_topic_configs, kafka_topic
from marketplace.services_check import wait_for_kafka


def wanted_topics() -> list[tuple[str, int, dict[str, str]]]:
    """(name on the broker, partitions, config) of every declared topic and dead-letter topic."""
    isr = {"min.insync.replicas": str(settings.KAFKA["MIN_INSYNC_REPLICAS"])}
    return [(kafka_topic(name), partitions, {**config, **isr}) for name, partitions, config in all_topic_configs()]


class Command(BaseCommand):
    help = "Create missing topics from marketplace.events.topics and update configs of existing ones (never partitions, unless asked)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--wait", type=float, default=30, help="Seconds to wait for the broker (default 30).")
        parser.add_argument(
            "--add-partitions",
            action="append",
            default=[],
            metavar="TOPIC",
            help="Grow this topic (declared name) to its declared partition count. Moves keys: read README first.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_kafka(options["wait"])
        admin = make_admin()
        existing = admin.list_topics(timeout=10).topics
        wanted = wanted_topics()
        self._create([(n, p, c) for n, p, c in wanted if n not in existing], admin)
        self._partitions(wanted, existing, {kafka_topic(t) for t in options["add_partitions"]}, admin)
        self._configs([(n, p, c) for n, p, c in wanted if n in existing], admin)
        self.stdout.write(self.style.SUCCESS(f"{len(wanted)} topics in place"))

    def _create(self, missing: list[tuple[str, int, dict[str, str]]], admin: Any) -> None:
        if not missing:
            return
        replication = int(settings.KAFKA["REPLICATION_FACTOR"])
        topics = [
            NewTopic(name, num_partitions=partitions, replication_factor=replication, config=config) for name, partitions, config in missing
        ]
        for name, future in admin.create_topics(topics, request_timeout=15).items():
            try:
                future.result()
                self.stdout.write(f"created {name}")
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise CommandError(f"could not create topic {name}: {exc}") from exc

    def _partitions(self, wanted: list[tuple[str, int, dict[str, str]]], existing: dict[str, Any], grow: set[str], admin: Any) -> None:
        declared = {name for name, _, _ in wanted}
        unknown = grow - declared
        if unknown:
            raise CommandError(f"--add-partitions names no declared topic: {', '.join(sorted(unknown))}")
        for name, partitions, _ in wanted:
            if name not in existing:
                continue
            have = len(existing[name].partitions)
            if have == partitions:
                continue
            if have > partitions:
                self.stderr.write(f"{name} has {have} partitions, {partitions} declared: Kafka cannot remove partitions; left as it is")
            elif name not in grow:
                self.stderr.write(
                    f"{name} has {have} partitions, {partitions} declared: not changed (adding partitions moves keys and can "
                    f"reorder a job's events). To grow it, follow README 'Growing a topic', then run "
                    f"kafka_topics --add-partitions {name.removeprefix(str(settings.KAFKA.get('TOPIC_PREFIX', '')))}"
                )
            else:
                try:
                    admin.create_partitions([NewPartitions(name, partitions)])[name].result()
                    self.stdout.write(f"grew {name} from {have} to {partitions} partitions")
                except KafkaException as exc:
                    raise CommandError(f"could not add partitions to {name} (it keeps {have}): {exc}") from exc

    def _configs(self, present: list[tuple[str, int, dict[str, str]]], admin: Any) -> None:
        for name, _, config in present:
            try:
                current = admin.describe_configs([ConfigResource("topic", name)])
                values = next(iter(current.values())).result()
                changed = {k: v for k, v in config.items() if values.get(k) is None or values[k].value != v}
                if changed:
                    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in changed.items()]
                    resource = ConfigResource("topic", name, incremental_configs=entries)
                    next(iter(admin.incremental_alter_configs([resource]).values())).result()
                    self.stdout.write(f"updated config of {name}: {', '.join(f'{k}={v}' for k, v in changed.items())}")
            except KafkaException as exc:
                self.stderr.write(f"could not check the config of {name}: {exc}")
