"""Shared API plumbing every app's ``api.py`` uses: who is asking, input validation, permissions by
role, the documented error responses and money fields.

Errors have one JSON shape (``marketplace.api_errors``); a service's refusal is a
:class:`marketplace.errors.ServiceError`, mapped to its status there.
"""

from __future__ import annotations

from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from marketplace.accounts.models import User

T = TypeVar("T")

MONEY: dict[str, Any] = {"max_digits": 10, "decimal_places": 2}


def request_user(request: Request) -> User:
    """The signed-in user (views behind IsAuthenticated only)."""
    user = request.user
    assert isinstance(user, User)
    return user


def valid(serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """The validated input, or a 400 ``validation_error`` naming each invalid field."""
    # partial: a field that was not sent stays unset, even from a form (where DRF would read a missing checkbox as false).
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def found(value: T | None, message: str) -> T:
    """``value``, or a 404 ``not_found`` with ``message`` (selectors answer None for what the viewer may not see)."""
    if value is None:
        raise exceptions.NotFound(message)
    return value


class IsTradesperson(BasePermission):
    message = "This is for tradespeople; sign in with a tradesperson account."
    code = "not_a_tradesperson"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user.is_authenticated and isinstance(request.user, User) and request.user.is_tradesperson)


class IsTradespersonOrStaff(BasePermission):
    message = "The jobs board is for tradespeople. Customers see their own jobs at /api/jobs/."
    code = "not_a_tradesperson"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user.is_authenticated and isinstance(user, User) and (user.is_tradesperson or user.is_staff))


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(**MONEY, **kwargs)


def money_out(**kwargs: Any) -> serializers.DecimalField:
    """A money figure in a response that may be null (hidden from this viewer, or nothing to sum yet)."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True, **kwargs)


class IsStaff(BasePermission):
    message = "This is for staff only."
    code = "staff_only"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. validation_error, not_found, job_closed.")
    message = serializers.CharField(help_text="What was wrong and what to do, for people.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" cannot be a class attribute: it would shadow Serializer.fields.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.JSONField(),
            required=False,
            help_text="Per invalid input, a list of messages: for validation_error nested by index or key for lists and objects; "
            "for a refusal about one input (e.g. a pricing code) keyed by its path, e.g. options[0].lines[3].unit_price.",
        )
        return fields


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorBodySerializer()


_ERROR_TEXT = {
    400: "Invalid input (validation_error with fields) or a rule about the values was broken.",
    401: "Not signed in.",
    402: "The card was declined (card_declined); nothing was charged and nothing changed. Try another card.",
    403: "Not signed in (not_authenticated), or not allowed to do this.",
    404: "No such object, or not one you may see.",
    409: "The object is not in a state that allows this (e.g. illegal_transition, job_closed).",
    429: "Too many requests of this kind (rate_limited); wait the Retry-After seconds.",
    503: "The payment provider is not answering (gateway_unavailable); nothing was charged. Retry shortly.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error responses an endpoint can give."""
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code]) for code in codes}
