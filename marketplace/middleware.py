"""HTTP middleware: a clean 503 when the database is unreachable, and the request's correlation id."""

from __future__ import annotations

import json
import uuid
import zoneinfo
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from marketplace.events.context import correlation


class UserTimezoneMiddleware:
    """Show times in the signed-in user's time zone (they are stored in UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        if zone:
            timezone.activate(zoneinfo.ZoneInfo(zone))
        else:
            timezone.deactivate()
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """Answer 503 (JSON for the API, text for pages) instead of a traceback when Postgres is gone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID", "")[:128] or str(uuid.uuid4())
        with correlation(request_id):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError):
            return None
        if request.path.startswith("/api/"):
            body = {"error": {"code": "service_unavailable", "message": "The database is unavailable; please retry shortly."}}
            return HttpResponse(json.dumps(body), status=503, content_type="application/json", headers={"Retry-After": "5"})
        return HttpResponse(
            "The service is briefly unavailable. Please retry in a few seconds.",
            status=503,
            content_type="text/plain",
            headers={"Retry-After": "5"},
        )
