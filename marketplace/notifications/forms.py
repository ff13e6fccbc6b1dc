from __future__ import annotations

from django import forms

from .models import NotificationPreferences


class PreferencesForm(forms.ModelForm):
    # Longer than the stored number: people type spaces ("+44 7700 900123"), removed before validation.
    phone = forms.CharField(
        label="Mobile number",
        max_length=25,
        required=False,
        help_text="International format, e.g. +447700900123. Leave empty for no texts.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    class Meta:
        model = NotificationPreferences
        fields = ["phone", "important_email", "important_sms", "updates_email", "updates_sms"]
        labels = {
            "important_email": "Email",
            "important_sms": "Text message (SMS)",
            "updates_email": "Email",
            "updates_sms": "Text message (SMS)",
        }

    def clean_phone(self) -> str:
        return "".join((self.cleaned_data.get("phone") or "").split())
