"""Review API serializers: input validates shapes (the service checks the rules), output renders averages as strings."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from marketplace.moderation import Moderation

from .models import Review


def _stars(**kwargs: Any) -> serializers.IntegerField:
    # The range is the service's rule (400 rating_out_of_range), so it is not checked twice with two messages.
    return serializers.IntegerField(help_text="1 to 5 stars.", **kwargs)


def _avg() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True, read_only=True)


class AspectsSerializer(serializers.Serializer):
    punctuality = _stars()
    quality = _stars()
    value = _stars()
    communication = _stars()


class ReviewInputSerializer(serializers.Serializer):
    rating = _stars()
    aspects = AspectsSerializer()
    comment = serializers.CharField(required=False, allow_blank=True, default="", help_text="At most 2000 characters.")


class ReplyInputSerializer(serializers.Serializer):
    reply = serializers.CharField(allow_blank=True, help_text="At most 2000 characters; one reply per review.")


def public_name(review: Review) -> str:
    """How the reviewer appears in public: their first name only."""
    name = (review.customer.display_name or "").strip()
    return name.split()[0] if name else "A customer"


class ReviewOutputSerializer(serializers.ModelSerializer):
    job_id = serializers.IntegerField(read_only=True)
    tradesperson_id = serializers.IntegerField(read_only=True)
    trade = serializers.CharField(source="job.trade.name", read_only=True)
    reviewer = serializers.SerializerMethodField()
    aspects = AspectsSerializer(read_only=True)
    hidden = serializers.BooleanField(source="is_hidden", read_only=True)
    posted_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "job_id",
            "tradesperson_id",
            "trade",
            "reviewer",
            "rating",
            "aspects",
            "comment",
            "reply",
            "replied_at",
            "hidden",
            "moderation_status",
            "reply_status",
            "posted_at",
        ]
        read_only_fields = fields

    def get_reviewer(self, review: Review) -> str:
        return public_name(review)

    def to_representation(self, instance: Review) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["aspects"] = instance.aspects()
        # A reply waiting for a check (or hidden) is for the tradesperson who wrote it and staff only
        # (``context["viewer"]``); everyone else sees no reply yet.
        viewer = self.context.get("viewer")
        may_see = viewer is not None and (viewer.is_staff or viewer.pk == instance.tradesperson_id)
        if instance.reply_status != Moderation.APPROVED and not may_see:
            data["reply"], data["replied_at"] = "", None
        return data


class AspectAveragesSerializer(serializers.Serializer):
    punctuality = _avg()
    quality = _avg()
    value = _avg()
    communication = _avg()


class TrendWindowSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    average = _avg()


class TrendSerializer(serializers.Serializer):
    days = serializers.IntegerField(help_text="Window length: the last `days` days against the `days` before.")
    recent = TrendWindowSerializer()
    previous = TrendWindowSerializer()
    change = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True, help_text="recent - previous average")
    direction = serializers.ChoiceField(choices=["up", "down", "flat"])


class SummarySerializer(serializers.Serializer):
    tradesperson_id = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Visible reviews (hidden ones are left out).")
    average = _avg()
    distribution = serializers.DictField(child=serializers.IntegerField(), help_text='Reviews per star, "1" to "5".')
    aspects = AspectAveragesSerializer()
    trend = TrendSerializer()


class ProReviewsOutputSerializer(serializers.Serializer):
    summary = SummarySerializer()
    reviews = ReviewOutputSerializer(many=True)
