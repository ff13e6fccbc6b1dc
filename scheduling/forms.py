"""Forms of the team pages: inviting someone, and choosing a password from an invitation link."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import Worker

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
