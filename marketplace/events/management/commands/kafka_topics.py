"""Create or update the declared Kafka topics (idempotent)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.events.kafka import make_admin
from marketplace.events.topics import all_topic_configs
from marketplace.services_check import wait_for_kafka


class Command(BaseCommand):
    help = "Create missing topics from marketplace.events.topics, add partitions and update configs of existing ones."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--wait", type=float, default=30, help="Seconds to wait for the broker (default 30).")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_kafka(options["wait"])
        admin = make_admin()
        existing = admin.list_topics(timeout=10).topics
        wanted = all_topic_configs()
        to_create = [
            NewTopic(name, num_partitions=partitions, replication_factor=int(settings.KAFKA["REPLICATION_FACTOR"]), config=config)
            for name, partitions, config in wanted
            if name not in existing
        ]
        if to_create:
            for name, future in admin.create_topics(to_create, request_timeout=15).items():
                try:
                    future.result()
                    self.stdout.write(f"created {name}")
                except KafkaException as exc:
                    if "TOPIC_ALREADY_EXISTS" not in str(exc):
                        raise CommandError(f"could not create topic {name}: {exc}") from exc
        grow = [
            NewPartitions(name, partitions)
            for name, partitions, _ in wanted
            if name in existing and len(existing[name].partitions) < partitions
        ]
        if grow:
            for name, future in admin.create_partitions(grow).items():
                try:
                    future.result()
                    self.stdout.write(f"added partitions to {name}")
                except KafkaException as exc:
                    self.stderr.write(f"could not add partitions to {name} (it keeps {len(existing[name].partitions)}): {exc}")
        for name, _, config in wanted:
            if name not in existing:
                continue
            try:
                current = admin.describe_configs([ConfigResource("topic", name)])
                values = next(iter(current.values())).result()
                if any(values.get(k) is not None and values[k].value != v for k, v in config.items()):
                    admin.alter_configs([ConfigResource("topic", name, set_config=config)])[ConfigResource("topic", name)].result()
                    self.stdout.write(f"updated config of {name}")
            except KafkaException as exc:
                self.stderr.write(f"could not check the config of {name}: {exc}")
        self.stdout.write(self.style.SUCCESS(f"{len(wanted)} topics in place"))
