"""``/healthz`` (the process is alive), ``/readyz`` (it can serve) and ``/healthz/deps`` (how its dependencies are).

- ``/healthz``: always 200 while the process answers.  An orchestrator's liveness probe.
- ``/readyz``: 200 when the database answers, 503 when it does not.  A load balancer's readiness probe.
  Only the database: a request that cannot reach Postgres cannot be served, but every other dependency
  has a fallback that keeps requests accepted.  Kafka: a request never talks to it (the outbox takes the
  event in the request's transaction and the relay publishes it when the broker is back).  Redis: the
  rate limiter fails open and websockets reconnect when it returns; pages and the API work without it.
  Making readiness depend on either would take every web replica out of the load balancer at once
  during an outage the design already absorbs.
- ``/healthz/deps``: always 200 (informational, for people and dashboards): Postgres, Redis and Kafka,
  each ``{"ok": bool, "ms": float}``, and ``status`` ``ok`` or ``degraded``.  Each check gives up after
  ``HEALTH['DEPENDENCY_TIMEOUT_S']``.

No check's error text is shown (it may name hosts and internals); it is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from marketplace.services_check import check_database, check_kafka, check_redis

log = logging.getLogger(__name__)


def dependency_checks() -> dict[str, Callable[[], None]]:
    timeout = float(settings.HEALTH["DEPENDENCY_TIMEOUT_S"])
    return {
        "postgres": check_database,
        "redis": lambda: check_redis(timeout=timeout),
        "kafka": lambda: check_kafka(timeout=timeout),
    }


def run_checks(checks: dict[str, Callable[[], None]]) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not answering"; the reason is logged, not shown
            log.warning("health: %s check failed: %s: %s", name, type(exc).__name__, exc)
            results[name] = {"ok": False, "ms": round((time.perf_counter() - started) * 1000, 1)}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results = run_checks({"postgres": check_database})
    ready = all(r["ok"] for r in results.values())
    return JsonResponse({"status": "ready" if ready else "unavailable", "checks": results}, status=200 if ready else 503)


@never_cache
@require_GET
def dependencies(request: HttpRequest) -> JsonResponse:
    results = run_checks(dependency_checks())
    healthy = all(r["ok"] for r in results.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": results})
