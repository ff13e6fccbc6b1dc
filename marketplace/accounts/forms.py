"""Account forms: sign-up (``services.user_sign_up`` makes the account) and naming a new API token."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from .models import User


class SignUpForm(forms.Form):
    role = forms.ChoiceField(
        label="I am…",
        choices=[
            (User.Role.CUSTOMER, "Looking for a tradesperson"),
            (User.Role.TRADESPERSON, "A tradesperson looking for work"),
        ],
        widget=forms.RadioSelect,
        initial=User.Role.CUSTOMER,
    )
    display_name = forms.CharField(
        label="Your name",
        max_length=120,
        help_text="Shown to the people you deal with. Tradespeople: your name or your business's.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[User.username_validator],
        help_text="Letters, digits and @ . + - _ only. You log in with it.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters; not all digits, not a common password, not like your name or email.",
    )
    # Filled by the page's script from the browser (Intl); times are then shown in this zone.
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("That username is taken.", code="username_taken")
        return username

    def clean_time_zone(self) -> str:
        zone: str = self.cleaned_data.get("time_zone") or ""
        return zone if zone in zoneinfo.available_timezones() else settings.TIME_ZONE

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        password = data.get("password")
        if password:
            # The service checks again; checking here puts the reasons next to the field.
            candidate = User(username=data.get("username", ""), email=data.get("email", ""), display_name=data.get("display_name", ""))
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class ApiTokenForm(forms.Form):
    label = forms.CharField(
        label="Name it after the device or app",
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. My phone", "autocomplete": "off"}),
    )
