"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: Postgres, Redis and Kafka answer).

A load balancer or orchestrator routes traffic only to ready instances and restarts ones that
are not alive.  Neither needs a session or touches the ORM beyond ``SELECT 1``; each check is
bounded by a short timeout so a dead dependency makes ``/readyz`` answer 503 quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from marketplace.services_check import check_database, check_kafka, check_redis

CHECKS: dict[str, Callable[[], None]] = {"postgres": check_database, "redis": check_redis, "kafka": check_kafka}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason is reported, not raised
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    ready = all(r["ok"] for r in results.values())
    return JsonResponse({"status": "ready" if ready else "unavailable", "checks": results}, status=200 if ready else 503)
