"""Accounts API: sign up, get an API token, list and revoke your tokens.

Apps authenticate with ``Authorization: Bearer <token>`` (``Token <token>`` works too); the browser
uses its session. Tokens are django-rest-knox's: hashed at rest, one per device, each expiring after
``API_TOKEN_TTL_HOURS``; revoking one (or all) deletes it, and closes the websockets opened with it.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import ratelimit
from marketplace.api import errors, request_user
from marketplace.errors import Refusal, ServiceError
from marketplace.ratelimit import login_key

from . import selectors, services
from .models import ApiToken, User


class SignUpInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"})
    role = serializers.ChoiceField(choices=User.Role.choices)
    display_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    time_zone = serializers.CharField(max_length=64, required=False, default="Europe/London", help_text="IANA zone, e.g. Europe/London.")


class SignUpOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=User.Role.choices)
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown once.")


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"})
    # A field named like DRF's Field.label attribute, which mypy then takes for an override.
    label = serializers.CharField(max_length=80, required=False, allow_blank=True, default="", help_text="The device or app.")  # type: ignore[assignment]


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown once: only a hash is kept.")
    id = serializers.UUIDField(source="uid", help_text="Names the token in the token list and to revoke it.")
    expiry = serializers.DateTimeField(help_text="When it stops working (UTC).")


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    id = serializers.UUIDField(source="uid")
    starts_with = serializers.CharField(source="token_key", help_text="The token's first characters, to tell tokens apart.")

    class Meta:
        model = ApiToken
        fields = ["id", "label", "starts_with", "created", "expiry", "last_used_at"]
        read_only_fields = fields


class RevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField()


def _token_for(user: User, label: str) -> tuple[ApiToken, str]:
    return services.api_token_create(user=user, label=label)


class SignUpApi(APIView):
    # No session: signing up must not need (or be refused for lack of) a CSRF token.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["accounts"],
        summary="Create a customer or tradesperson account",
        request=SignUpInputSerializer,
        responses={201: SignUpOutputSerializer, **errors(400)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = SignUpInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The account and its token together, or neither.
        with transaction.atomic():
            user = services.user_sign_up(**serializer.validated_data)
            _, token = _token_for(user, "Sign-up")
        body = {"id": user.pk, "username": user.username, "role": user.role, "token": token}
        return Response(SignUpOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["accounts"],
        summary="Exchange a username and password for a new API token (one per device)",
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, **errors(400, 409, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ratelimit.check("login", login_key(request._request, serializer.validated_data["username"]), what="sign-in attempts")
        data = serializer.validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if not isinstance(user, User):
            raise ServiceError("Wrong username or password (or the account is disabled).", code="invalid_credentials", kind=Refusal.INVALID)
        row, token = _token_for(user, data["label"])
        return Response(TokenOutputSerializer({"token": token, "uid": row.uid, "expiry": row.expiry}).data)


class TokenListApi(APIView):
    @extend_schema(
        tags=["accounts"],
        summary="My live API tokens (the tokens themselves are never shown again)",
        responses={200: ApiTokenSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(ApiTokenSerializer(selectors.api_tokens_of(user=request_user(request)), many=True).data)


class TokenRevokeApi(APIView):
    @extend_schema(tags=["accounts"], summary="Revoke one of my API tokens", responses={204: None, **errors(401, 403, 404)})
    def delete(self, request: Request, uid: UUID) -> Response:
        services.api_token_revoke(user=request_user(request), uid=uid)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeAllApi(APIView):
    @extend_schema(
        tags=["accounts"],
        summary="Revoke all my API tokens (sign out of every app)",
        request=None,
        responses={200: RevokedSerializer, **errors(401, 403)},
    )
    def post(self, request: Request) -> Response:
        revoked = services.api_tokens_revoke_all(user=request_user(request))
        return Response(RevokedSerializer({"revoked": revoked}).data)


class TokenLogoutApi(APIView):
    @extend_schema(
        tags=["accounts"],
        summary="Revoke the API token this request carries (sign this app out)",
        request=None,
        responses={204: None, **errors(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.auth, ApiToken):
            message = "Send this with the API token to revoke (Authorization: Bearer <token>)."
            raise ServiceError(message, code="no_token", kind=Refusal.INVALID)
        services.api_token_revoke(user=request_user(request), uid=request.auth.uid)
        return Response(status=status.HTTP_204_NO_CONTENT)
