"""Notifications API: your notifications, how many are unread, marking them read, and your channel preferences."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import errors, request_user

from . import selectors, services
from .models import Notification, NotificationPreferences, phone_validator


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "created_at", "read_at"]


class ChannelsSerializer(serializers.Serializer):
    in_app = serializers.BooleanField(read_only=True, default=True, help_text="Always on: the notification centre is the record.")
    email = serializers.BooleanField()
    sms = serializers.BooleanField(help_text="Texts need a phone number.")


class PreferencesSerializer(serializers.Serializer):
    phone = serializers.CharField(
        max_length=20, allow_blank=True, help_text="Mobile number in E.164 format (+447700900123); empty for no texts."
    )
    important = ChannelsSerializer(help_text="Reminders, appointment changes, failed payments, winning a job.")
    updates = ChannelsSerializer(help_text="Everything else.")
    important_kinds = serializers.ListField(child=serializers.CharField(), read_only=True)

    def validate_phone(self, value: str) -> str:
        value = "".join(value.split())
        if value:
            try:
                phone_validator(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages) from exc
        return value


def preferences_body(prefs: NotificationPreferences) -> dict[str, object]:
    return {
        "phone": prefs.phone,
        "important": {"in_app": True, "email": prefs.important_email, "sms": prefs.important_sms},
        "updates": {"in_app": True, "email": prefs.updates_email, "sms": prefs.updates_sms},
        "important_kinds": list(settings.NOTIFICATIONS["IMPORTANT_KINDS"]),
    }


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


class PreferencesApi(APIView):
    @extend_schema(
        tags=["notifications"], summary="Your notification channels per category", responses={200: PreferencesSerializer, **errors(403)}
    )
    def get(self, request: Request) -> Response:
        prefs = selectors.preferences_for(user_id=request_user(request).pk)
        return Response(PreferencesSerializer(preferences_body(prefs)).data)

    @extend_schema(
        tags=["notifications"],
        summary="Choose your notification channels per category",
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer, **errors(400, 403)},
    )
    def put(self, request: Request) -> Response:
        serializer = PreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        prefs = services.preferences_update(
            user=request_user(request),
            phone=data["phone"],
            important_email=data["important"]["email"],
            important_sms=data["important"]["sms"],
            updates_email=data["updates"]["email"],
            updates_sms=data["updates"]["sms"],
        )
        return Response(PreferencesSerializer(preferences_body(prefs)).data)
