"""Privacy API: download your data (``GET /api/me/data/``), delete your account (``POST /api/me/erase/``)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import errors, request_user, valid
from marketplace.errors import Refusal, ServiceError

from .services import user_erase
from .views import export_response


class EraseInputSerializer(serializers.Serializer):
    password = serializers.CharField(help_text="The account's password, to confirm.")


class EraseOutputSerializer(serializers.Serializer):
    erased = serializers.BooleanField()
    pseudonym = serializers.CharField(help_text="What the account is called now (it can no longer sign in).")


class MyDataApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_data",
        responses={200: OpenApiTypes.OBJECT, **errors(401, 403)},
        summary="Everything TradeLink holds about you (JSON)",
    )
    def get(self, request: Request) -> HttpResponse:
        return export_response(request_user(request))


class EraseMeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_erase",
        request=EraseInputSerializer,
        responses={200: EraseOutputSerializer, **errors(400, 401, 403, 409)},
        summary="Delete your account (UK GDPR erasure); refused while a job or a payment of yours is under way",
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        data = valid(EraseInputSerializer, request.data)
        if not user.check_password(data["password"]):
            raise ServiceError("That is not your password.", code="wrong_password", kind=Refusal.INVALID, field="password")
        erased = user_erase(user=user, actor=user)
        return Response(EraseOutputSerializer({"erased": True, "pseudonym": erased.username}).data)
