"""Scheduling API input and output shapes.

Every instant is sent and returned as ISO 8601 with an offset.  Inputs must be aware: a time
without an offset is refused (400 ``naive_time``) rather than guessed.  Outputs give each
instant in UTC (``starts_at``) and as the viewer's local rendering (``starts_at_local``, in
the viewer's ``time_zone``).
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.errors import Refusal, ServiceError

MAX_DURATION_MINUTES = 24 * 60
MAX_SLOT_DAYS = 28
MAX_CALENDAR_DAYS = 62
MAX_HOURS_ROWS = 50

# A "+01:00" offset in a query string arrives as " 01:00" when the client did not encode the "+".
_UNENCODED_PLUS = re.compile(r"(T[\d:.]+) (\d\d(:?\d\d)?)$")


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_iso(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat()


def local_label(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant that must carry an offset (``Z`` or ``+01:00``); a naive time is 400 ``naive_time``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 8601 with an offset, e.g. 2027-01-04T10:00:00Z or 2027-06-07T11:00:00+01:00.")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                error = ServiceError(
                    "Send the time with its offset (e.g. 2027-01-04T10:00:00Z or +01:00); a time without one is ambiguous.",
                    code="naive_time",
                    kind=Refusal.INVALID,
                    field=self.field_name or "",
                )
                raise error
        result: datetime = super().to_internal_value(value)
        return result


# --- slots --------------------------------------------------------------------------------------


class SlotQuerySerializer(serializers.Serializer):
    duration = serializers.IntegerField(
        min_value=1, max_value=MAX_DURATION_MINUTES, default=60, help_text="The job's length in minutes (default 60)."
    )
    # "from" is a Python keyword: the field is renamed in get_fields.
    from_ = AwareDateTimeField(required=False, allow_null=True, default=None)
    days = serializers.IntegerField(
        min_value=1, max_value=MAX_SLOT_DAYS, default=7, help_text=f"How many days to search (1-{MAX_SLOT_DAYS})."
    )
    worker = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None, help_text="Only this worker.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class SlotSerializer(serializers.Serializer):
    worker = serializers.IntegerField()
    worker_name = serializers.CharField()
    starts_at = serializers.CharField(help_text="UTC, ISO 8601; send this back as starts_at to book.")
    ends_at = serializers.CharField(help_text="UTC, ISO 8601.")
    starts_at_local = serializers.CharField(help_text="The same instant in the viewer's time zone, ISO 8601 with its offset.")
    starts_label = serializers.CharField(help_text="For people, in the viewer's time zone, e.g. 'Mon 04 Jan 10:00'.")


class DependencyInputSerializer(serializers.Serializer):
    prerequisite = serializers.IntegerField(min_value=1, help_text="Another job of the same customer that must be done first.")


class LinkedJobSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    starts_at = serializers.CharField(allow_null=True, help_text="Its booked appointment (UTC); null: not scheduled.")
    ends_at = serializers.CharField(allow_null=True)
    starts_label = serializers.CharField(allow_blank=True, help_text="The start in the viewer's time zone, for people.")


class DependenciesOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    time_zone = serializers.CharField()
    prerequisites = LinkedJobSerializer(many=True, help_text="The jobs this one must come after.")
    dependents = LinkedJobSerializer(many=True, help_text="The jobs that must come after this one.")


class WaitingForSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    title = serializers.CharField()
    scheduled = serializers.BooleanField(help_text="False: it has no appointment yet, so this job cannot be booked.")


class SlotsOutputSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    duration_minutes = serializers.IntegerField()
    time_zone = serializers.CharField(help_text="The viewer's time zone (used for the *_local fields and labels).")
    earliest_start = serializers.CharField(
        allow_null=True, help_text="When the job this one waits for ends (UTC); no slot starts before it. Null: nothing to wait for."
    )
    waiting_for = WaitingForSerializer(allow_null=True, help_text="The job whose appointment decides when this one may start (null: none).")
    window_start = serializers.CharField()
    window_end = serializers.CharField()
    preferred_start = serializers.CharField(allow_null=True, help_text="The customer's preferred window (null: flexible).")
    preferred_end = serializers.CharField(allow_null=True)
    outside_preferred_window = serializers.BooleanField(help_text="Some offered times end after the customer's preferred window.")
    note = serializers.CharField(allow_blank=True, help_text="Why, for people (empty when every time is inside the window).")
    slots = SlotSerializer(many=True)


# --- appointments -------------------------------------------------------------------------------


class AppointmentBookInputSerializer(serializers.Serializer):
    worker = serializers.IntegerField(min_value=1, help_text="A worker of the business doing the job (GET /api/jobs/{id}/slots/).")
    starts_at = AwareDateTimeField()
    duration_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES)


class AppointmentRescheduleInputSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    duration_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES, required=False, allow_null=True, default=None)
    worker = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None, help_text="Move to another worker.")


class AppointmentCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AppointmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.IntegerField()
    job_title = serializers.CharField()
    job_place = serializers.CharField()
    worker = serializers.IntegerField()
    worker_name = serializers.CharField()
    worker_time_zone = serializers.CharField()
    status = serializers.CharField()
    starts_at = serializers.CharField(help_text="UTC, ISO 8601.")
    ends_at = serializers.CharField(help_text="UTC, ISO 8601.")
    starts_at_local = serializers.CharField(help_text="In the viewer's time zone, ISO 8601 with its offset.")
    ends_at_local = serializers.CharField(help_text="In the viewer's time zone, ISO 8601 with its offset.")
    starts_label = serializers.CharField(help_text="The start for people, in the viewer's time zone.")
    time_zone = serializers.CharField(help_text="The viewer's time zone.")
    travel_buffer_minutes = serializers.IntegerField(help_text="Travel time blocked after the appointment.")
    ends_label = serializers.CharField(help_text="The end time for people (HH:MM), in the viewer's time zone.")
    confirmed_at = serializers.CharField(allow_null=True, help_text="When the customer confirmed this time (UTC), or null.")
    confirmed_via = serializers.CharField(allow_blank=True, help_text="How the customer confirmed: web or sms; empty if not confirmed.")
    reschedule_requested_at = serializers.CharField(
        allow_null=True, help_text="When the customer asked for another time (UTC; e.g. replied R to a reminder), or null."
    )
    conflict_reason = serializers.CharField(allow_blank=True, help_text="Why the time no longer fits its dependencies; empty if it does.")
    suggestions = serializers.ListField(
        child=serializers.CharField(), help_text="For a flagged appointment: the worker's next free starts after the conflict (UTC)."
    )


class ProposalInputSerializer(serializers.Serializer):
    worker = serializers.IntegerField(min_value=1, help_text="A worker of your business.")
    starts = serializers.ListField(child=AwareDateTimeField(), min_length=1, max_length=5, help_text="1 to 5 start times.")
    duration_minutes = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_MINUTES)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ProposalAcceptInputSerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="One of the proposal's starts.")


class ProposedStartSerializer(serializers.Serializer):
    starts_at = serializers.CharField(help_text="UTC, ISO 8601.")
    starts_at_local = serializers.CharField()
    starts_label = serializers.CharField()


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.IntegerField()
    worker = serializers.IntegerField()
    worker_name = serializers.CharField()
    business_name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    message = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    starts = ProposedStartSerializer(many=True)
    time_zone = serializers.CharField(help_text="The viewer's time zone.")
    created_at = serializers.CharField()


class ProposalOutputSerializer(serializers.Serializer):
    proposal = ProposalSerializer(allow_null=True, help_text="The open proposal, or null.")


class CalendarQuerySerializer(serializers.Serializer):
    from_ = AwareDateTimeField(required=False, allow_null=True, default=None)
    to = AwareDateTimeField(required=False, allow_null=True, default=None)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class DispatchQuerySerializer(serializers.Serializer):
    from_ = serializers.DateField(required=False, allow_null=True, default=None, help_text="First day (YYYY-MM-DD), owner-local.")
    days = serializers.IntegerField(min_value=1, max_value=31, required=False, default=7)
    worker = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    owner = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None, help_text="Staff only.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class RouteQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, allow_null=True, default=None, help_text="The day (YYYY-MM-DD), owner-local.")

    def validate_date(self, value: dt.date | None) -> dt.date | None:
        # The day's bounds in UTC must exist: no calendar is planned at the edges of datetime's range.
        if value is not None and not 1900 <= value.year <= 9000:
            raise serializers.ValidationError("Pick a day between the years 1900 and 9000.")
        return value


class DispatchPlaceInputSerializer(serializers.Serializer):
    """Where the dispatcher puts an appointment or a queued job: a worker and either ``start`` (with an offset) or a
    ``day`` (and optionally a ``time``) in the business owner's zone, as the board shows them."""

    worker = serializers.IntegerField(min_value=1, help_text="A worker of the business (GET /api/dispatch/).")
    start = AwareDateTimeField(required=False, allow_null=True, default=None)
    day = serializers.DateField(required=False, allow_null=True, default=None, help_text="YYYY-MM-DD, the business's local day.")
    time = serializers.TimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="HH:MM local; without it a move keeps its local start time and a queued job takes the first free start.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs["start"] is None) == (attrs["day"] is None):
            raise serializers.ValidationError({"start": ["Give either a start (with an offset) or a day."]})
        return attrs


class DispatchBookInputSerializer(DispatchPlaceInputSerializer):
    duration_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_DURATION_MINUTES, required=False, allow_null=True, default=None, help_text="Default: settings."
    )


class EmergencyReserveInputSerializer(serializers.Serializer):
    hours = serializers.DecimalField(max_digits=4, decimal_places=2, min_value=Decimal(0), max_value=Decimal(12))


class CalendarOutputSerializer(serializers.Serializer):
    window_start = serializers.CharField()
    window_end = serializers.CharField()
    time_zone = serializers.CharField()
    appointments = AppointmentOutputSerializer(many=True)


class MyAppointmentsOutputSerializer(CalendarOutputSerializer):
    """The same shape as the calendar: the window (from the start of today), the viewer's zone, the appointments."""


# --- workers ------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "example": "08:00"})
class HourMinuteField(serializers.TimeField):
    """A wall-clock time answered as HH:MM (OpenAPI's ``format: time`` would promise HH:MM:SS)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class HoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday ... 6 = Sunday.")
    start = HourMinuteField(help_text="Local wall-clock time in the worker's zone, HH:MM.")
    end = HourMinuteField(help_text="After start (several stretches per day are allowed).")


class HoursInputSerializer(serializers.Serializer):
    hours = HoursSerializer(many=True, allow_empty=True, help_text=f"The whole week (replaces it); at most {MAX_HOURS_ROWS} rows.")

    def validate_hours(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > MAX_HOURS_ROWS:
            raise serializers.ValidationError(f"At most {MAX_HOURS_ROWS} rows.")
        return value


class TimeOffInputSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TimeOffOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    worker = serializers.IntegerField(source="worker_id")
    starts_at = serializers.DateTimeField(default_timezone=UTC)
    ends_at = serializers.DateTimeField(default_timezone=UTC)
    reason = serializers.CharField()


class CalendarFeedOutputSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The secret iCalendar feed URL (…/calendar/feed/<secret>.ics); shown only once.")


class WorkerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_owner = serializers.SerializerMethodField()
    time_zone = serializers.CharField(help_text="The zone the working hours are in.")
    travel_buffer_minutes = serializers.IntegerField()
    active = serializers.BooleanField()
    hours = HoursSerializer(many=True, source="hours.all")
    time_off = serializers.SerializerMethodField(help_text="Time off that has not ended yet.")

    def get_is_owner(self, worker: Any) -> bool:
        return bool(worker.user_id == worker.owner_id)

    @extend_schema_field(TimeOffOutputSerializer(many=True))
    def get_time_off(self, worker: Any) -> list[Any]:
        now = self.context["now"]
        upcoming = [t for t in worker.time_off.all() if t.ends_at > now]
        return list(TimeOffOutputSerializer(upcoming, many=True).data)
