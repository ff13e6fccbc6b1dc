"""The pro directory API: anyone (signed in or not) may search it and read a pro's badges."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import errors, valid

from . import query, selectors
from .presenters import badges_body, listing_card


class DirectoryQuerySerializer(serializers.Serializer):
    trade = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=50, help_text="A trade's slug (see /api/trades/)."
    )
    postcode = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=40,
        help_text='A district ("N1"), a postcode or an area\'s name.',
    )
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=10_000)


class BadgeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    # The metaclass moves declared fields off the class, so this does not clobber Field.label at runtime.
    label = serializers.CharField()  # type: ignore[assignment]
    number = serializers.CharField()
    expires_on = serializers.DateField()
    expires = serializers.CharField(help_text='The expiry month, e.g. "March 2027".')


class DirectoryCardSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    business_name = serializers.CharField()
    trades = inline_serializer("DirectoryTrade", {"slug": serializers.CharField(), "name": serializers.CharField()}, many=True)
    base_place = serializers.CharField()
    service_radius_km = serializers.IntegerField()
    distance_km = serializers.FloatField(allow_null=True, help_text="From the searched postcode; null without one.")
    rating_average = serializers.FloatField(allow_null=True)
    rating_count = serializers.IntegerField()
    response_minutes = serializers.FloatField(allow_null=True, help_text="Mean minutes from a lead to a bid; null before a first bid.")
    badges = BadgeSerializer(many=True)
    score = serializers.FloatField(help_text="0..1, what the list is ordered by (directory/ranking.py).")
    profile_url = serializers.CharField()
    request_quote_url = serializers.CharField()


class DirectoryPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True)
    previous = serializers.IntegerField(allow_null=True)
    place = serializers.CharField(allow_null=True, help_text="The place the postcode was read as.")
    results = DirectoryCardSerializer(many=True)


class DirectoryApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="pros_search",
        tags=["directory"],
        summary="Find a pro: by trade and postcode, best first",
        description="Pros whose service area covers the postcode, ranked by rating, distance, response time and badges.",
        parameters=[DirectoryQuerySerializer],
        responses={200: DirectoryPageSerializer, **errors(400)},
    )
    def get(self, request: Request) -> Response:
        data = valid(DirectoryQuerySerializer, request.query_params)
        q = query.parse(trade=data["trade"], postcode=data["postcode"], page=data["page"])
        page = selectors.search(trade=q.trade, place=q.place, page=q.page)
        body = {
            "count": page.total,
            "page": page.page,
            "pages": page.pages,
            "next": page.page + 1 if page.has_next else None,
            "previous": page.page - 1 if page.has_previous else None,
            "place": q.place.label if q.place else None,
            "results": [listing_card(listing) for listing in page.listings],
        }
        return Response(body)


class ProBadgesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["directory"],
        operation_id="pros_badges",
        summary="A pro's badges (verified, unexpired credentials)",
        responses={200: inline_serializer("ProCredentialBadges", {"badges": BadgeSerializer(many=True)})},
    )
    def get(self, request: Request, user_id: int) -> Response:
        return Response(badges_body(selectors.badges_of_pro(user_id=user_id)))
