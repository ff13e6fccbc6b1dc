"""Finance API (staff): platform money totals and open payments, from the finance read model."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import IsStaff, errors

from . import selectors
from .serializers import FinanceOutputSerializer

FINANCE_OPEN_PAYMENTS_SHOWN = 200


class FinanceApi(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        tags=["payments"],
        summary="Platform money totals and open payments (staff)",
        description=f"From the finance read model. At most {FINANCE_OPEN_PAYMENTS_SHOWN} open payments, most recently changed first.",
        responses={200: FinanceOutputSerializer, **errors(403)},
    )
    def get(self, request: Request) -> Response:
        body = {
            "totals": selectors.finance_totals(),
            "open_payments": list(selectors.finance_open_payments()[:FINANCE_OPEN_PAYMENTS_SHOWN]),
        }
        return Response(FinanceOutputSerializer(body).data)
