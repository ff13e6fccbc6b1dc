"""Create or update the declared Kafka topics (idempotent).

Configs of existing topics are compared with ``describe_configs`` and changed with
``incremental_alter_configs`` (SET of the differing keys only).  The older
``alter_configs`` replaces a topic's whole config and is not implemented by the
development broker (Tansu answers UNSUPPORTED_FEATURE); incremental alter works on
Tansu and on Kafka >= 2.3.  A declared key missing from the description counts as
different: Tansu describes only the keys that were set explicitly.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic
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
                changed = {k: v for k, v in config.items() if values.get(k) is None or values[k].value != v}
                if changed:
                    entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in changed.items()]
                    resource = ConfigResource("topic", name, incremental_configs=entries)
                    next(iter(admin.incremental_alter_configs([resource]).values())).result()
                    self.stdout.write(f"updated config of {name}: {', '.join(f'{k}={v}' for k, v in changed.items())}")
            except KafkaException as exc:
                self.stderr.write(f"could not check the config of {name}: {exc}")
        self.stdout.write(self.style.SUCCESS(f"{len(wanted)} topics in place"))
