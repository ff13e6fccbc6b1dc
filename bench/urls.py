"""The production URLconf plus two bench-only floors behind the same middleware.

- ``/bench/hello/``: a hello-world JSON view (the cost of Daphne, ASGI and the middleware alone);
- ``/bench/drf-create/``: the least a create endpoint does on this stack: DRF with the project's
  authentication (token), a plain serializer over the job's fields, one row inserted and committed, 201.
  No model, no rate limit, no event: what the job POST costs above it is ours.
"""

import json
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.common import FLOOR_TABLE
from marketplace.urls import handler400, handler404, handler500
from marketplace.urls import urlpatterns as production

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world"})


class _JobFields(serializers.Serializer[dict[str, Any]]):
    trade = serializers.SlugField(max_length=50)
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=4000)
    latitude = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=Decimal("-90"), max_value=Decimal("90"))
    longitude = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=Decimal("-180"), max_value=Decimal("180"))


class DrfCreate(APIView):
    def post(self, request: Request) -> Response:
        fields = _JobFields(data=request.data)
        fields.is_valid(raise_exception=True)
        data = fields.validated_data
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {FLOOR_TABLE} (title, payload, at) VALUES (%s, %s, now()) RETURNING id",
                [data["title"], json.dumps(request.data)],
            )
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id, **fields.data}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("bench/hello/", hello, name="bench-hello"),
    path("bench/drf-create/", DrfCreate.as_view(), name="bench-drf-create"),
    *production,
]
