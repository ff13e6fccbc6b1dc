"""API input and output shapes for jobs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from .models import Job, JobBoardEntry, Trade


class JobInputSerializer(serializers.Serializer):
    trade = serializers.SlugRelatedField(slug_field="slug", queryset=Trade.objects.all())
    title = serializers.CharField(max_length=120, trim_whitespace=True)
    description = serializers.CharField(max_length=5000, trim_whitespace=True)
    latitude = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=Decimal("-90"), max_value=Decimal("90"))
    longitude = serializers.DecimalField(max_digits=8, decimal_places=5, min_value=Decimal("-180"), max_value=Decimal("180"))
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    budget_min = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), default=Decimal("0"))
    budget_max = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"), default=Decimal("0"))
    is_emergency = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["budget_max"] < attrs["budget_min"]:
            raise serializers.ValidationError({"budget_max": ["Must be at least the minimum budget."]})
        return attrs


class JobOutputSerializer(serializers.ModelSerializer):
    trade: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "trade", "title", "description", "latitude", "longitude", "place",
            "budget_min", "budget_max", "is_emergency", "status", "created_at",
        ]  # fmt: skip


class BoardEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = JobBoardEntry
        fields = [
            "job_id", "trade_slug", "trade_name", "title", "description", "latitude", "longitude",
            "place", "budget_min", "budget_max", "is_emergency", "status", "posted_at", "last_sequence",
        ]  # fmt: skip
