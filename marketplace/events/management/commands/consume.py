"""Run one, several or all registered Kafka consumers."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from marketplace.events.registry import CONSUMERS, get_consumer
from marketplace.events.runner import ConsumerRunner, DeadLetterLimitExceeded
from marketplace.services_check import wait_for_database

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run Kafka consumers from marketplace.events.registry (each name is a consumer group)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("names", nargs="*", help="Consumer names; see --list.")
        parser.add_argument("--all", action="store_true", help="Run every registered consumer (one thread each).")
        parser.add_argument("--list", action="store_true", help="List the registered consumers and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for spec in CONSUMERS.values():
                self.stdout.write(f"{spec.name:24} {', '.join(spec.topic_names):40} {spec.description}")
            return
        names = list(CONSUMERS) if options["all"] else options["names"]
        if not names:
            raise CommandError("Name a consumer or pass --all (see --list).")
        try:
            specs = [get_consumer(name) for name in names]
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        runners = [ConsumerRunner(spec) for spec in specs]

        def stop(*_: Any) -> None:
            for runner in runners:
                runner.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        failures: list[str] = []

        def run(runner: ConsumerRunner) -> None:
            try:
                runner.run()
            except DeadLetterLimitExceeded as exc:
                failures.append(str(exc))
                log.critical("%s", exc)
                stop()
            except Exception as exc:
                failures.append(f"{runner.spec.name}: {exc!r}")
                log.exception("consumer %s crashed", runner.spec.name)
                stop()
            finally:
                connection.close()

        if len(runners) == 1:
            run(runners[0])
        else:
            threads = [threading.Thread(target=run, args=(r,), name=r.spec.name) for r in runners]
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(0.5)
        if failures:
            raise CommandError("; ".join(failures), returncode=2)
