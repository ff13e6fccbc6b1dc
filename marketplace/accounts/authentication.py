"""API token authentication: django-rest-knox tokens sent as ``Authorization: Bearer <token>`` or ``Token <token>``.

Knox finds the token by its first characters and compares a SHA-512 digest; an expired token is
deleted when it is next presented (and refused). The websocket authenticates with the same function
(``user_for_token``), so a token that works for the API works for live updates, and one revoked works for neither.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from .models import ApiToken, User

SCHEMES = (b"bearer", b"token")


def _touch(token: ApiToken) -> None:
    """Record when the token was last used, at most once a minute (a write per request would be a write per request)."""
    now = timezone.now()
    every = timedelta(seconds=settings.API_TOKEN_LAST_USED_EVERY_SECONDS)
    if token.last_used_at is None or now - token.last_used_at >= every:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


class ApiTokenAuthentication(TokenAuthentication):
    """Knox's authentication, taking ``Bearer`` as well as ``Token`` and noting when each token was last used."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None  # no token: another authentication (the session) may apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Authorization: Bearer <token>.")
        user, token = self.authenticate_credentials(parts[1])
        _touch(token)
        return user, token

    def authenticate_header(self, request: Any) -> str:
        return "Bearer"

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        """Refuse (and delete) the presented token once it has expired.

        Knox's own version also loads every other token of the user on each request to delete the expired
        ones: a query per API call. Those go when the user next creates a token (``api_token_create``).
        """
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and Swagger UI's Authorize button) describes the token: HTTP bearer."""

    target_class = "marketplace.accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return dict(build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer"))  # noqa: S106 - a scheme name


def user_for_token(raw: str) -> tuple[User, ApiToken] | None:
    """The active user and live token that ``raw`` is, or None (unknown, revoked, expired, or the user disabled)."""
    try:
        user, token = ApiTokenAuthentication().authenticate_credentials(raw.encode())
    except exceptions.AuthenticationFailed:
        return None
    _touch(token)
    return user, token
