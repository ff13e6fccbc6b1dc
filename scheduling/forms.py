"""Scheduling's forms: the availability page's (weekly hours, time off, travel time, service area) and the team
pages' (inviting someone, choosing a password from an invitation link).

They turn what a person typed into what the services take and say, in a sentence, what is wrong;
the rules themselves stay in the services (``scheduling.services.hours_problem`` is the one
check of a week of hours, shared with the API).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from jobs.forms import PlaceMixin

from .models import Worker
from .services import hours_problem
from .services.workers import DAY_NAMES

_STRETCH = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})\s*$")


def parse_stretches(text: str) -> list[tuple[time, time]]:
    """ "08:00-12:00, 13:00-17:30" -> [(08:00, 12:00), (13:00, 17:30)]; "" -> [] (not working)."""
    stretches = []
    for part in [p for p in re.split(r"[,;\n]", text) if p.strip()]:
        match = _STRETCH.match(part)
        if match is None:
            raise ValidationError(f"“{part.strip()}” is not a time range. Write it like 08:00-12:00.")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValidationError(f"“{part.strip()}” has a time that does not exist. Use 00:00 to 23:59.")
        stretches.append((time(h1, m1), time(h2, m2)))
    return stretches


def stretches_text(stretches: list[tuple[time, time]]) -> str:
    return ", ".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in stretches)


class HoursForm(forms.Form):
    """One text box per weekday: the stretches worked that day, in the worker's time zone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day, name in enumerate(DAY_NAMES):
            self.fields[f"day_{day}"] = forms.CharField(
                label=name,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "Not working", "autocomplete": "off", "spellcheck": "false"}),
            )

    @property
    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"day_{day}"] for day in range(7)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        rows: list[tuple[int, time, time]] = []
        for day in range(7):
            key = f"day_{day}"
            if key not in data:
                continue
            try:
                stretches = parse_stretches(data[key])
            except ValidationError as exc:
                self.add_error(key, exc)
                continue
            day_rows = [(day, start, end) for start, end in stretches]
            problem = hours_problem(day_rows)
            if problem is not None:
                self.add_error(key, problem[1])
            rows.extend(day_rows)
        data["hours"] = rows
        return data

    @classmethod
    def initial_for(cls, hours: list[tuple[int, time, time]]) -> dict[str, str]:
        return {f"day_{day}": stretches_text([(s, e) for d, s, e in sorted(hours) if d == day]) for day in range(7)}


class TimeOffForm(forms.Form):
    """A period of time off typed in the viewer's time zone (``zone``); cleaned to aware datetimes."""

    starts_at = forms.DateTimeField(label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    ends_at = forms.DateTimeField(label="Until", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    reason = forms.CharField(label="Reason", required=False, max_length=200, help_text="Only your business sees it.")

    def __init__(self, *args: Any, zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = f"Your time ({zone})."

    def _aware(self, value: datetime) -> datetime:
        # The browser sends a wall-clock time; it is the viewer's, whatever zone the server runs in.
        return value.replace(tzinfo=self.zone) if value.tzinfo is None else value.replace(tzinfo=None).replace(tzinfo=self.zone)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        start, end = data.get("starts_at"), data.get("ends_at")
        if start is not None:
            data["starts_at"] = start = self._aware(start)
        if end is not None:
            data["ends_at"] = end = self._aware(end)
        if start is not None and end is not None and end <= start:
            self.add_error("ends_at", "Time off must end after it starts.")
        return data


class TravelBufferForm(forms.Form):
    travel_buffer_minutes = forms.IntegerField(
        label="Travel time between jobs (minutes)",
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="Kept free after each new appointment so the worker can get to the next one.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.AVAILABILITY["MAX_TRAVEL_BUFFER_MINUTES"]
        field = self.fields["travel_buffer_minutes"]
        assert isinstance(field, forms.IntegerField)
        field.max_value = limit
        field.validators.append(_at_most(limit))
        field.widget.attrs["max"] = limit


def _at_most(limit: int) -> Any:
    def check(value: int) -> None:
        if value > limit:
            raise ValidationError(f"At most {limit} minutes.")

    return check


class ServiceAreaForm(PlaceMixin):
    """Where the business is based and how far it travels (the same fields as the profile's "Where you work")."""

    place_required_message = "Choose where you are based: a place from the list, or coordinates."

    service_radius_km = forms.IntegerField(
        label="Service radius (km)",
        min_value=1,
        max_value=200,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="How far from your base you travel for work. New jobs further away are not offered to you.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].label = "Base (place or postcode district)"


MEMBER_ROLE_CHOICES = [(Worker.Role.TECHNICIAN.value, "Technician"), (Worker.Role.DISPATCHER.value, "Dispatcher")]


class InviteForm(forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}))
    role = forms.ChoiceField(
        choices=MEMBER_ROLE_CHOICES,
        initial=Worker.Role.TECHNICIAN.value,
        help_text="A technician sees their own day and the visits of their jobs; a dispatcher also runs the calendar and dispatch board.",
    )


class JoinForm(forms.Form):
    password1 = forms.CharField(label="Choose a password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Type it again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "The two passwords are not the same.")
        return data
