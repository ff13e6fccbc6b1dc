"""One JSON error shape for the whole API.

    {"error": {"code": "validation_error", "message": "...", "fields": {"title": ["..."]}}}

``code`` is stable (clients switch on it); ``message`` is for people.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from marketplace.errors import Refusal, ServiceError

# What HTTP status each kind of domain refusal is (services know nothing of HTTP: marketplace.errors).
STATUS_FOR_REFUSAL: dict[Refusal, int] = {
    Refusal.INVALID: status.HTTP_400_BAD_REQUEST,
    Refusal.DECLINED: status.HTTP_402_PAYMENT_REQUIRED,
    Refusal.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    Refusal.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    Refusal.CONFLICT: status.HTTP_409_CONFLICT,
    Refusal.RATE_LIMITED: status.HTTP_429_TOO_MANY_REQUESTS,
    Refusal.UNAVAILABLE: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(error: ServiceError) -> int:
    """The HTTP status a domain refusal is answered with."""
    return STATUS_FOR_REFUSAL[error.kind]


def refusal_response(error: ServiceError) -> Response:
    """The JSON error for a domain refusal; ``fields`` names the input it is about, when it is about one."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field:
        body["fields"] = {error.field: [error.message]}
    response = Response({"error": body}, status=status_for(error))
    wait = getattr(error, "wait", None)
    if isinstance(wait, int):
        response["Retry-After"] = str(wait)
    return response


def _api_error(request: HttpRequest, status_code: int, code: str, message: str) -> JsonResponse | None:
    if not request.path.startswith("/api/"):
        return None
    return JsonResponse({"error": {"code": code, "message": message}}, status=status_code)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the API's error shape under /api/ (a URL no route matches), the HTML page elsewhere."""
    return _api_error(request, 404, "not_found", "Not found.") or defaults.page_not_found(request, exception or Http404())


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_error(request, 400, "bad_request", "Bad request.") or defaults.bad_request(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    return _api_error(request, 500, "server_error", "Something went wrong on our side.") or defaults.server_error(request)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        refusal = refusal_response(exc)
        if refusal.status_code == status.HTTP_503_SERVICE_UNAVAILABLE and "Retry-After" not in refusal:
            refusal["Retry-After"] = "5"
        return refusal
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"error": {"code": "request_too_large", "message": "The request body is too large (at most 2.5 MB of form or JSON data)."}},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, OperationalError):
        return Response(
            {"error": {"code": "service_unavailable", "message": "The database is unavailable; please retry shortly."}},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "Some fields are invalid." if isinstance(detail, dict) else "; ".join(str(d) for d in detail)
        body: dict[str, Any] = {"code": "validation_error", "message": message, "fields": fields}
    else:
        codes = exc.get_codes()
        body = {"code": codes if isinstance(codes, str) else exc.default_code, "message": str(exc.detail)}
    response.data = {"error": body}
    if response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE and "Retry-After" not in response:
        response["Retry-After"] = "5"  # a dependency is briefly away (payment gateway, broker): when to try again
    return response
