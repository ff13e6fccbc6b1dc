"""Run one, several or all registered Kafka consumers."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from marketplace.events.deadletters import DeadLetterLimitExceeded
from marketplace.events.registry import CONSUMERS, ConsumerSpec, get_consumer
from marketplace.events.runner import ConsumerRunner
from marketplace.ops.metrics import RunnerCollector, serve_process_metrics
from marketplace.services_check import wait_for_database

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run Kafka consumers from marketplace.events.registry (each name is a consumer group; several run as child processes)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("names", nargs="*", help="Consumer names; see --list.")
        parser.add_argument("--all", action="store_true", help="Run every registered consumer (one child process each).")
        parser.add_argument("--list", action="store_true", help="List the registered consumers and exit.")
        parser.add_argument(
            "--threads",
            action="store_true",
            help="Run several consumers as threads of this one process instead of a process each: "
            "one interpreter instead of a dozen, for a small machine, development and tests. "
            "They then share one GIL, so production runs a process per consumer (Procfile).",
        )

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
        if len(specs) > 1 and options["threads"]:
            self._run_threads(specs)
            return
        if len(specs) > 1:
            self._supervise([spec.name for spec in specs])
            return
        if specs[0].niceness and settings.CONSUMER_PRIORITIES:
            os.nice(specs[0].niceness)  # a read model gives way to the live consumers (ConsumerSpec.niceness)
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        runner = ConsumerRunner(specs[0])
        serve_process_metrics(RunnerCollector(runner))
        signal.signal(signal.SIGTERM, lambda *_: runner.stop())
        signal.signal(signal.SIGINT, lambda *_: runner.stop())
        try:
            runner.run()
        except DeadLetterLimitExceeded as exc:
            log.critical("%s", exc)
            raise CommandError(str(exc), returncode=2) from exc
        finally:
            connection.close()

    def _run_threads(self, specs: list[ConsumerSpec]) -> None:
        """Each consumer in its own thread (own Kafka consumer, own database connection), one process.

        SIGTERM/SIGINT stop them all, each after committing its current batch; when one
        runner fails, the others are stopped and this command exits 2.
        """
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        runners = [ConsumerRunner(spec) for spec in specs]
        serve_process_metrics(RunnerCollector(*runners))
        failed: dict[str, BaseException] = {}

        def stop_all(*_: Any) -> None:
            for runner in runners:
                runner.stop()

        def run(runner: ConsumerRunner) -> None:
            try:
                runner.run()
            except BaseException as exc:  # reported below, and the others are stopped
                log.critical("consumer %s failed: %r; stopping the others", runner.spec.name, exc)
                failed[runner.spec.name] = exc
                stop_all()
            finally:
                connection.close()

        signal.signal(signal.SIGTERM, stop_all)
        signal.signal(signal.SIGINT, stop_all)
        threads = [threading.Thread(target=run, args=(runner,), name=f"consumer-{runner.spec.name}") for runner in runners]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.2)  # short joins keep the main thread free to take signals
        if failed:
            raise CommandError(f"consumers failed: {', '.join(f'{name}: {exc!r}' for name, exc in failed.items())}", returncode=2)

    def _supervise(self, names: list[str]) -> None:
        """Run each consumer in its own process (own GIL, own connections), like production.

        SIGTERM/SIGINT are passed on; when one child fails, the others are stopped
        and this command exits with the child's code.
        """
        manage_py = str(settings.BASE_DIR / "manage.py")
        base_port = os.environ.get("METRICS_PORT")

        def child_env(index: int) -> dict[str, str]:
            # Each child serves its own metrics: METRICS_PORT + its index (the supervisor serves none).
            return {**os.environ, "METRICS_PORT": str(int(base_port) + index)} if base_port else dict(os.environ)

        children = {name: subprocess.Popen([sys.executable, manage_py, "consume", name], env=child_env(i)) for i, name in enumerate(names)}
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        failed: dict[str, int] = {}
        while any(child.poll() is None for child in children.values()):
            for name, child in children.items():
                code = child.poll()
                if code not in (None, 0) and name not in failed:
                    failed[name] = code
                    if not stopping:
                        log.error("consumer %s exited with %s; stopping the others", name, code)
                        stop()
            time.sleep(0.2)
        if failed:
            raise CommandError(f"consumers failed: {failed}", returncode=2)
