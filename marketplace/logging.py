"""Structured JSON logs that carry the correlation id (settings.LOGGING wires these in).

Every line every process writes (web, relay, consumers, clock) is one JSON object:

    {"timestamp": "...", "level": "INFO", "logger": "marketplace.events.runner", "message": "...",
     "service": "consume", "correlation_id": "...", "causation_id": "...", "consumer": "matching"}

``correlation_id`` is the id the HTTP middleware took from ``X-Request-ID`` (or made up)
for the request that started it all; the outbox puts it in the event envelope, the relay
and the consumer runner set it again while they handle that event, so one grep finds the
request, its publication, every consumer's handling and the websocket push.  Fields that
are empty in the current context (no request, no consumer) are left out.

``LOG_FORMAT=plain`` gives the old one-line text format for a developer's terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from marketplace.events.context import current_consumer, peek_causation_id, peek_correlation_id

CONTEXT_FIELDS = ("correlation_id", "causation_id", "consumer")


def service_name(argv: list[str] | None = None) -> str:
    """What this process is: ``SERVICE_NAME``, else 'web' for Daphne, else the management command."""
    if os.environ.get("SERVICE_NAME"):
        return os.environ["SERVICE_NAME"]
    argv = sys.argv if argv is None else argv
    program = os.path.basename(argv[0]) if argv else ""
    if argv and "daphne" in argv[0]:  # the daphne script, or python -m daphne (…/daphne/__main__.py)
        return "web"
    if program == "manage.py" and len(argv) > 1:
        return argv[1]
    return program or "python"


class CorrelationFilter(logging.Filter):
    """Stamp every record with the correlation/causation ids and the consumer of the current context."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            record.correlation_id = peek_correlation_id()
        if not getattr(record, "causation_id", None):
            record.causation_id = peek_causation_id()
        if not getattr(record, "consumer", None):
            record.consumer = current_consumer() or None
        return True


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with our field names, UTC ISO timestamps and the context ids."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        kwargs.setdefault("static_fields", {"service": service_name()})
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in CONTEXT_FIELDS:  # leave out what is empty here (no request, no consumer)
            if log_data.get(name) in (None, ""):
                log_data.pop(name, None)


access_log = logging.getLogger("marketplace.access")


class AccessLogMiddleware:
    """One log line per HTTP request (inside the correlation context) and the id echoed as ``X-Request-ID``.

    Goes after ``DatabaseUnavailableMiddleware``, which sets the correlation id.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        correlation_id = peek_correlation_id()
        if correlation_id and not response.has_header("X-Request-ID"):
            response["X-Request-ID"] = correlation_id
        user = getattr(request, "user", None)
        match = getattr(request, "resolver_match", None)
        access_log.info(
            "%s %s %d",
            request.method,
            request.path,
            response.status_code,
            extra={
                "http_method": request.method,
                "path": request.path,
                "route": f"/{match.route}" if match is not None and match.route else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response
