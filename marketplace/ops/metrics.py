"""Prometheus metrics (prometheus_client) for every process.

- web (Daphne): ``http_request_duration_seconds{method,route,status}`` (``route`` is the URL
  pattern, never the raw path, so ids do not explode the label space), ``websocket_connections``,
  and at scrape time the backbone: ``outbox_backlog``, ``outbox_oldest_unpublished_age_seconds``,
  ``dead_letters_pending``, ``dead_letters_recorded_total`` (every dead letter ever: its ``increase()`` is
  DLQ growth), ``outbox_relay_stalled_seconds`` (rows waiting with no publish at all; the figures are
  ``marketplace/ops/figures.py``, as the paging clock reads them), ``dependency_up{check}`` (Postgres, Redis and Kafka answering, 1 or 0),
  ``consumer_lag{group,topic,partition}`` (committed offset vs high
  watermark, cached for ``METRICS['LAG_CACHE_S']``).  Served on ``/metrics``.
- relay and each consumer: ``relay_events_published_total`` / ``relay_publish_failures_total`` and
  ``consumer_events_processed_total{consumer}`` (+ duplicates, dead-lettered, retries, batches),
  read from the running object's own counters at scrape time; served by a small HTTP server on
  ``METRICS_PORT`` (``consume --all`` gives child *i* ``METRICS_PORT + i``) when that is set.

``/metrics`` answers requests from ``METRICS['ALLOWED_IPS']`` or carrying
``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets 404 (it reveals internals).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from marketplace.events.relay import OutboxRelay
    from marketplace.events.runner import ConsumerRunner

log = logging.getLogger(__name__)

HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route pattern.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKET_CONNECTIONS = Gauge("websocket_connections", "Open live websockets in this process.")


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return f"/{match.route}" if match is not None and match.route else "unmatched"


class MetricsMiddleware:
    """Times every request (sync or async stack) into ``http_request_duration_seconds``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response, started)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        started = time.perf_counter()
        response = await self.get_response(request)
        self._observe(request, response, started)
        return response

    @staticmethod
    def _observe(request: HttpRequest, response: HttpResponse, started: float) -> None:
        HTTP_LATENCY.labels(request.method or "", _route(request), str(response.status_code)).observe(time.perf_counter() - started)


# --- the backbone, collected at scrape time (web process) --------------------------------


class BackboneCollector(Collector):
    def __init__(self) -> None:
        self._lag: list[tuple[str, str, int, int]] = []
        self._lag_at = 0.0
        self._lock = threading.Lock()

    def collect(self) -> Iterable[Any]:
        # On use: this module loads with the middleware, before Django's app registry (models) is ready.
        from django.db import DatabaseError, connection

        from marketplace.events.models import DeadLetter

        from . import figures

        backlog = GaugeMetricFamily("outbox_backlog", "Outbox rows not yet published.")
        age = GaugeMetricFamily("outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row (0 when empty).")
        dead = GaugeMetricFamily("dead_letters_pending", "Dead letters not yet re-driven or dismissed.")
        stalled = GaugeMetricFamily(
            "outbox_relay_stalled_seconds", "How long unpublished rows have waited with no publish at all (0: none wait, or it publishes)."
        )
        recorded = CounterMetricFamily(
            "dead_letters_recorded", "Dead letters ever recorded (re-driven ones included): its increase is DLQ growth."
        )
        try:
            with connection.cursor() as cursor:
                # created_at comes from the writing process's clock, now() from the database's: clamp a skew at 0.
                cursor.execute(
                    "SELECT count(*), GREATEST(COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0), 0) "
                    "FROM events_outboxevent WHERE published_at IS NULL"
                )
                count, oldest = cursor.fetchone() or (0, 0)
            backlog.add_metric([], float(count))
            age.add_metric([], float(oldest))
            dead.add_metric([], float(DeadLetter.objects.filter(status=DeadLetter.Status.PENDING).count()))
            stalled.add_metric([], figures.outbox().stalled_s)
            recorded.add_metric([], float(figures.dead_letters_recorded()))
        except DatabaseError:
            log.warning("metrics: database unavailable for backbone metrics")
        yield backlog
        yield age
        yield dead
        yield stalled
        yield recorded
        yield self._readiness()
        lag = GaugeMetricFamily(
            "consumer_lag", "Messages behind the partition's end, per consumer group.", labels=["group", "topic", "partition"]
        )
        for group, topic, partition, behind in self._consumer_lag():
            lag.add_metric([group, topic, str(partition)], float(behind))
        yield lag

    @staticmethod
    def _readiness() -> GaugeMetricFamily:
        """``dependency_up{check}``: 1 when Postgres, Redis or Kafka answers (as ``/healthz/deps`` asks), 0 when it does not.

        Only Postgres makes ``/readyz`` fail; the others page staff without taking web replicas out of service.
        """
        # On use: health imports the service checks, which need settings that are not read while this module loads.
        from .health import dependency_checks

        family = GaugeMetricFamily("dependency_up", "Whether each dependency answers (1) or not (0).", labels=["check"])
        for name, check in dependency_checks().items():
            try:
                check()
            except Exception:  # any failure means "not ready", as on /readyz
                family.add_metric([name], 0.0)
            else:
                family.add_metric([name], 1.0)
        return family

    def _consumer_lag(self) -> list[tuple[str, str, int, int]]:
        with self._lock:
            if time.monotonic() - self._lag_at < settings.METRICS["LAG_CACHE_S"]:
                return self._lag
            try:
                self._lag = consumer_lag()
            except Exception:  # the broker being away must not break the scrape
                log.warning("metrics: could not read consumer lag", exc_info=True)
                self._lag = []
            self._lag_at = time.monotonic()
            return self._lag


def consumer_lag(timeout: float = 3.0) -> list[tuple[str, str, int, int]]:
    """(group, topic, partition, messages behind) for every registered consumer group."""
    # On use: this module loads with the middleware, before the registry's handlers can be imported.
    from confluent_kafka import TopicPartition

    from marketplace.events.kafka import group_id, make_consumer
    from marketplace.events.registry import CONSUMERS

    rows: list[tuple[str, str, int, int]] = []
    for spec in CONSUMERS.values():
        probe = make_consumer(group_id(spec.name), "lag-probe")
        try:
            partitions = []
            for topic in spec.kafka_topic_names:
                metadata = probe.list_topics(topic, timeout=timeout).topics.get(topic)
                if metadata is not None and metadata.error is None:
                    partitions += [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
            for committed in probe.committed(partitions, timeout=timeout) if partitions else []:
                _, high = probe.get_watermark_offsets(committed, timeout=timeout, cached=False)
                position = committed.offset if committed.offset >= 0 else 0
                rows.append((spec.name, committed.topic, committed.partition, max(0, high - position)))
        finally:
            probe.close()
    return rows


_backbone_registered = False


def register_backbone() -> None:
    global _backbone_registered
    if not _backbone_registered:
        REGISTRY.register(BackboneCollector())
        _backbone_registered = True


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS["TOKEN"]
    allowed = request.META.get("REMOTE_ADDR") in settings.METRICS["ALLOWED_IPS"] or (
        bool(token) and request.headers.get("Authorization") == f"Bearer {token}"
    )
    if not allowed:
        raise Http404
    register_backbone()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


# --- relay and consumer processes ------------------------------------------------------


class RelayCollector(Collector):
    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay

    def collect(self) -> Iterable[Any]:
        yield CounterMetricFamily("relay_events_published", "Outbox events acknowledged by Kafka.", value=self.relay.published_total)
        yield CounterMetricFamily("relay_publish_failures", "Outbox events Kafka refused or timed out.", value=self.relay.failed_total)


class RunnerCollector(Collector):
    """Counters of the consumer runners in this process (one, or all of them with ``consume --all --threads``)."""

    def __init__(self, *runners: ConsumerRunner) -> None:
        self.runners = runners

    def collect(self) -> Iterable[Any]:
        for field, help_text in (
            ("processed", "Events applied (handler + inbox committed)."),
            ("duplicates", "Redelivered events the inbox absorbed."),
            ("dead_lettered", "Events sent to the dead-letter topic."),
            ("retries", "Handler retries after a transient failure."),
            ("batches", "Batches processed."),
        ):
            family = CounterMetricFamily(
                f"consumer_events_{field}" if field != "batches" else "consumer_batches", help_text, labels=["consumer"]
            )
            for runner in self.runners:
                family.add_metric([runner.spec.name], float(getattr(runner.stats, field)))
            yield family


def serve_process_metrics(collector: Collector, *, port_offset: int = 0) -> int | None:
    """Expose this process's metrics on ``METRICS_PORT`` (+ offset) if set; returns the port."""
    base = os.environ.get("METRICS_PORT")
    if not base:
        return None
    port = int(base) + port_offset
    REGISTRY.register(collector)
    start_http_server(port, addr=os.environ.get("METRICS_ADDR", "127.0.0.1"))
    log.info("metrics on http://%s:%d/metrics", os.environ.get("METRICS_ADDR", "127.0.0.1"), port)
    return port
