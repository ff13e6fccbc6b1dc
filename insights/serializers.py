"""Insights API shapes: the query (filters) and the documented dashboard body."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .selectors import MAX_DAYS


class InsightsQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, help_text="First UTC day (inclusive); default 29 days before date_to.")
    date_to = serializers.DateField(required=False, help_text="Last UTC day (inclusive); default today (UTC).")
    trade = serializers.SlugField(required=False, allow_blank=True, default="", help_text="A trade slug; empty for all trades.")
    tradesperson = serializers.IntegerField(required=False, min_value=1, help_text="Staff only: whose numbers to show.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_from": ["Must be on or before date_to."]})
        if start and end and (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError({"date_from": [f"At most {MAX_DAYS} days at a time."]})
        return attrs


class FiguresSerializer(serializers.Serializer):
    jobs_posted = serializers.IntegerField(help_text="Jobs posted (platform rows only).")
    leads = serializers.IntegerField(help_text="Jobs offered to the tradesperson (their rows only).")
    bids = serializers.IntegerField()
    jobs_bid = serializers.IntegerField(help_text="Jobs that got a first bid (from this tradesperson, on their dashboard).")
    jobs_awarded = serializers.IntegerField()
    jobs_completed = serializers.IntegerField()
    jobs_cancelled = serializers.IntegerField()
    jobs_expired = serializers.IntegerField(help_text="Open jobs that expired without an award (platform only; 0 for a tradesperson).")
    avg_minutes_to_first_bid = serializers.FloatField(
        allow_null=True, help_text="Platform: posted to first bid; a tradesperson: lead to their bid."
    )
    win_rate = serializers.FloatField(allow_null=True, help_text="jobs_awarded / jobs_bid.")
    avg_quote = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True, help_text="Mean bid amount.")
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Money kept from customers (captured less refunded).")
    platform_fees = serializers.DecimalField(max_digits=14, decimal_places=2)
    arrivals = serializers.IntegerField()
    on_time_rate = serializers.FloatField(
        allow_null=True, help_text="Arrivals from EARLY_GRACE_MINUTES before the start to ON_TIME_GRACE_MINUTES after it."
    )
    early_rate = serializers.FloatField(allow_null=True, help_text="Arrivals before the window opened.")
    late_rate = serializers.FloatField(allow_null=True, help_text="Arrivals after the window closed.")
    avg_arrival_delay_minutes = serializers.FloatField(allow_null=True, help_text="Mean lateness (early counts as 0).")
    scheduled_hours = serializers.FloatField(help_text="Worker-hours booked.")
    used_hours = serializers.FloatField(help_text="Worker-hours from start of work to completion, less pauses.")
    utilisation = serializers.FloatField(allow_null=True, help_text="used_hours / scheduled_hours.")
    repeat_jobs = serializers.IntegerField(help_text="Completed jobs whose customer had an earlier one (with them).")
    repeat_rate = serializers.FloatField(allow_null=True)


class DayFiguresSerializer(FiguresSerializer):
    day = serializers.DateField()


class TradeFiguresSerializer(FiguresSerializer):
    trade = serializers.CharField()
    name = serializers.CharField()


class DashboardSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["platform", "tradesperson"])
    tradesperson_id = serializers.IntegerField(allow_null=True)
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    trade = serializers.CharField()
    days_are = serializers.CharField(help_text="Always UTC: a day is a UTC calendar day.")
    totals = FiguresSerializer()
    series = DayFiguresSerializer(many=True)
    by_trade = TradeFiguresSerializer(many=True)
