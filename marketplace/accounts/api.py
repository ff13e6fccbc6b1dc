"""Accounts API: sign up, get an API token, and who am I.

Apps authenticate with ``Authorization: Token <key>``; the browser uses its session.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import ratelimit
from marketplace.api import errors
from marketplace.errors import Refusal, ServiceError
from marketplace.ratelimit import login_key

from . import services
from .models import User


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
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class TokenInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128, style={"input_type": "password"})


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


def _token_for(user: User) -> str:
    # One long-lived token per user, as rest_framework.authtoken's own view does.
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


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
            token = _token_for(user)
        body = {"id": user.pk, "username": user.username, "role": user.role, "token": token}
        return Response(SignUpOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["accounts"],
        summary="Exchange a username and password for an API token",
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, **errors(400, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ratelimit.check("login", login_key(request._request, serializer.validated_data["username"]), what="sign-in attempts")
        user = authenticate(request._request, **serializer.validated_data)
        if not isinstance(user, User):
            raise ServiceError("Wrong username or password (or the account is disabled).", code="invalid_credentials", kind=Refusal.INVALID)
        return Response(TokenOutputSerializer({"token": _token_for(user)}).data)
