"""Insights API: the numbers behind the dashboards, as JSON and as CSV.

- ``GET /api/insights/``: a tradesperson's own numbers (staff: ``?tradesperson=<id>``).
- ``GET /api/insights/platform/``: platform-wide numbers (staff only).
- ``GET /api/insights/csv/`` and ``/api/insights/platform/csv/``: the same, one row per UTC day and trade.

Filters for all four: ``date_from``, ``date_to`` (UTC days, inclusive) and ``trade`` (slug).  A
customer is refused (403); a tradesperson can only ever get their own numbers.
"""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import errors, request_user, valid
from marketplace.errors import Refusal, ServiceError

from . import selectors
from .models import PLATFORM
from .serializers import DashboardSerializer, InsightsQuerySerializer

QUERY = [InsightsQuerySerializer]


def _filters(request: Request) -> tuple[selectors.Filters, dict[str, object]]:
    data = valid(InsightsQuerySerializer, request.query_params)
    default = selectors.Filters.default()
    end = data.get("date_to") or default.date_to
    start = data.get("date_from") or end - (default.date_to - default.date_from)
    return selectors.Filters(start, end, data.get("trade", "")), data


def _pro_scope(request: Request, data: dict[str, object]) -> int:
    user = request_user(request)
    asked = data.get("tradesperson")
    if user.is_staff and asked:
        return int(str(asked))
    if user.is_tradesperson and (asked is None or asked == user.pk):
        return user.pk
    if user.is_staff:
        raise ServiceError("Staff: pass ?tradesperson=<user id>, or use /api/insights/platform/.", "tradesperson_required", Refusal.INVALID)
    raise ServiceError("Insights are for tradespeople (their own numbers) and staff.", code="forbidden", kind=Refusal.FORBIDDEN)


def _platform_scope(request: Request) -> int:
    if not request_user(request).is_staff:
        raise ServiceError("The platform dashboard is for staff.", code="forbidden", kind=Refusal.FORBIDDEN)
    return PLATFORM


def _csv(scope: int, filters: selectors.Filters, name: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(selectors.CSV_COLUMNS)
    writer.writerows(selectors.csv_rows(scope=scope, filters=filters))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    trade = f"-{filters.trade}" if filters.trade else ""
    response["Content-Disposition"] = f'attachment; filename="insights-{name}{trade}-{filters.date_from}-{filters.date_to}.csv"'
    return response


CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="text/csv: a header row, then one row per UTC day and trade with activity.")


class InsightsApi(APIView):
    @extend_schema(
        tags=["insights"],
        summary="A tradesperson's own insights (staff: any tradesperson's) for a UTC date range and trade",
        parameters=QUERY,
        responses={200: DashboardSerializer, **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        filters, data = _filters(request)
        return Response(DashboardSerializer(selectors.dashboard(scope=_pro_scope(request, data), filters=filters)).data)


class PlatformInsightsApi(APIView):
    @extend_schema(
        tags=["insights"],
        summary="Platform-wide insights for a UTC date range and trade (staff)",
        parameters=QUERY,
        responses={200: DashboardSerializer, **errors(400, 403)},
    )
    def get(self, request: Request) -> Response:
        filters, _ = _filters(request)
        return Response(DashboardSerializer(selectors.dashboard(scope=_platform_scope(request), filters=filters)).data)


class InsightsCsvApi(APIView):
    @extend_schema(
        tags=["insights"],
        summary="A tradesperson's own insights as CSV (same filters)",
        parameters=QUERY,
        responses={(200, "text/csv"): CSV_RESPONSE, **errors(400, 403)},
    )
    def get(self, request: Request) -> HttpResponse:
        filters, data = _filters(request)
        scope = _pro_scope(request, data)
        return _csv(scope, filters, f"pro-{scope}")


class PlatformInsightsCsvApi(APIView):
    @extend_schema(
        tags=["insights"],
        summary="Platform-wide insights as CSV (staff; same filters)",
        parameters=QUERY,
        responses={(200, "text/csv"): CSV_RESPONSE, **errors(400, 403)},
    )
    def get(self, request: Request) -> HttpResponse:
        filters, _ = _filters(request)
        return _csv(_platform_scope(request), filters, "platform")
