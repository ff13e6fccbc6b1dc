"""Run the payments executor: the gateway calls (captures, balance charges, voids, unfinished refunds) outside any transaction.

manage.py payments_executor          until SIGTERM, woken when an intent commits
manage.py payments_executor --once   execute what is due now, then exit
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace.ops.metrics import serve_process_metrics
from marketplace.services_check import wait_for_database
from payments.executor import ExecutorCollector, PaymentsExecutor, run_due


class Command(BaseCommand):
    help = "Make the gateway calls the payment services recorded as intents; safe to run as several replicas."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Execute the operations due now, then exit.")
        parser.add_argument("--concurrency", type=int, default=None, help="Gateway calls in flight (PAYMENTS_EXECUTOR_CONCURRENCY).")

    def handle(self, *args: Any, **options: Any) -> None:
        wait_for_database(timeout=settings.STARTUP_WAIT_S)
        if options["once"]:
            self.stdout.write(f"executed {run_due()} payment operations")
            return
        executor = PaymentsExecutor(concurrency=options["concurrency"])
        serve_process_metrics(ExecutorCollector(executor.stats))
        signal.signal(signal.SIGTERM, lambda *_: executor.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: executor.stop_event.set())
        executor.run()
