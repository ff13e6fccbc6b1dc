"""Tracking API shapes (input validation and documented output)."""

from __future__ import annotations

from rest_framework import serializers

from .selectors import ACTIONS
from .services import MAX_PINGS_PER_REQUEST


class VisitActionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(ACTIONS), help_text="on_the_way, arrived, start, pause, resume or complete.")


class PointSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class PositionSerializer(PointSerializer):
    at = serializers.DateTimeField()
    accuracy_m = serializers.FloatField(allow_null=True)


class EtaSerializer(serializers.Serializer):
    minutes = serializers.FloatField()
    at = serializers.DateTimeField()
    distance_km = serializers.FloatField(help_text="Straight-line distance left.")
    speed_kmh = serializers.FloatField(help_text="The smoothed speed the ETA assumes (at least 15 km/h).")
    late = serializers.BooleanField(help_text="The ETA is past the appointment start plus the tolerance.")


class StepSerializer(serializers.Serializer):
    stage = serializers.CharField()
    at = serializers.DateTimeField()
    auto = serializers.BooleanField(help_text="Arrival detected by the geofence.")


class WindowSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class VisitWorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class VisitOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    stage = serializers.CharField(help_text="scheduled, on_the_way, arrived, working, paused or completed.")
    timeline = StepSerializer(many=True)
    destination = PointSerializer()
    position = PositionSerializer(allow_null=True, help_text="The customer sees it only while the visit is on_the_way.")
    trail = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()), help_text="[[lat, lng, at], ...], oldest first; same privacy."
    )
    eta = EtaSerializer(allow_null=True)
    appointment = WindowSerializer(allow_null=True)
    worker = VisitWorkerSerializer(allow_null=True)
    arrived_auto = serializers.BooleanField()
    late_alerted_at = serializers.DateTimeField(allow_null=True)
    actions = serializers.ListField(child=serializers.CharField(), help_text="What the viewer may do now (empty for the customer).")
    geofence_m = serializers.IntegerField()


class PingsInputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    pings = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=MAX_PINGS_PER_REQUEST,
        help_text="Each {lat, lng, accuracy_m, recorded_at (ISO 8601 with offset), speed_mps?, heading?}; "
        "recorded_at within the last 10 minutes and at most 1 minute ahead.",
    )


class RejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class PingsOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = RejectionSerializer(many=True)
