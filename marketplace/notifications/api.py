"""Notifications API: your notifications, how many are unread, and marking them read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.api import request_user
from jobs.serializers import errors

from . import selectors, services
from .models import Notification


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at"]


class UnreadCountOutputSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class MarkReadInputSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="The notifications to mark read; omit to mark all of yours read. Other people's ids are ignored.",
    )


class MarkReadOutputSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")


class NotificationListApi(GenericAPIView):
    @extend_schema(
        tags=["notifications"],
        summary="Your notifications, newest first",
        responses={200: NotificationOutputSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.notifications_for(recipient_id=request_user(request).pk))
        assert page is not None
        return self.get_paginated_response(NotificationOutputSerializer(page, many=True).data)


class UnreadCountApi(APIView):
    @extend_schema(tags=["notifications"], summary="How many are unread", responses={200: UnreadCountOutputSerializer, **errors(403)})
    def get(self, request: Request) -> Response:
        unread = selectors.unread_count(recipient_id=request_user(request).pk)
        return Response(UnreadCountOutputSerializer({"unread": unread}).data)


class MarkReadApi(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="Mark notifications read",
        request=MarkReadInputSerializer,
        responses={200: MarkReadOutputSerializer, **errors(400, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = MarkReadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = services.notification_mark_read(
            recipient_id=request_user(request).pk, notification_ids=serializer.validated_data.get("ids")
        )
        return Response(MarkReadOutputSerializer({"marked": marked}).data)
