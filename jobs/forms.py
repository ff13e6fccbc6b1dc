"""Browser forms for jobs, bids, the jobs board and tradesperson profiles.

Forms only parse and check what a person typed (types, ranges, "pick a place or
give coordinates"); the rules live in ``jobs/services.py``, which the views call
and whose ``ServiceError`` they show next to the field it concerns
(:data:`SERVICE_ERROR_FIELDS`).
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import lazy
from django.utils.text import format_lazy

from marketplace.money import currency_symbol

from . import places, vat
from .models import Trade
from .services import InvoiceDetails

MAX_MONEY = Decimal("1000000")
COORDINATE_STEP = Decimal("0.00001")
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

# Which field a service refusal is about (by ServiceError code), so it is shown inline.
SERVICE_ERROR_FIELDS: dict[str, str] = {
    "bad_budget": "budget_max",
    "bad_window": "window_end",
    "bad_photo": "photos",
    "photo_too_large": "photos",
    "too_many_photos": "photos",
    "bad_amount": "amount",
    "no_trades": "trades",
    "bad_vat_number": "vat_number",
    "bad_vat_rate": "vat_rate_percent",
}


class DateTimeLocalInput(forms.DateTimeInput):
    """``<input type="datetime-local">``; the form reads it in the user's time zone (activated by middleware)."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


class CoordinateField(forms.DecimalField):
    """A latitude or longitude, rounded to the 5 decimal places we store (about 1 m)."""

    def __init__(self, *, limit: int, **kwargs: Any) -> None:
        super().__init__(
            max_digits=8,
            decimal_places=5,
            min_value=Decimal(-limit),
            max_value=Decimal(limit),
            required=False,
            widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            **kwargs,
        )

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # the stubs derive DecimalField from IntegerField
        number: Decimal | None = super().to_python(value)
        return None if number is None else number.quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several photos from one ``<input type="file" multiple>``; content is checked by the service."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleImageField, self).clean(item, initial) for item in files]


def _in_currency(label: str) -> Any:
    """A label with the symbol of the currency in settings ("Budget from (£)"), read when the form is shown (lazily)."""
    return format_lazy("{} ({})", label, lazy(currency_symbol, str)())


def money_field(label: Any, *, required: bool = False, minimum: str = "0") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(minimum),
        max_value=MAX_MONEY,
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": minimum, "inputmode": "decimal", "placeholder": "0"}),
    )


class PlaceMixin(forms.Form):
    """A place from the offline list (jobs/places.py), or explicit coordinates.

    After ``clean()``: ``cleaned_data["location"] = (latitude, longitude, place_name)``.
    """

    place_required_message = "Choose a place from the list, or enter coordinates."

    place = forms.CharField(
        label="Place or postcode district",
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"list": "places-list", "autocomplete": "off", "placeholder": "Start typing, e.g. Islington N1"}),
    )
    latitude = CoordinateField(limit=90, label="Latitude")
    longitude = CoordinateField(limit=180, label="Longitude")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        text = (data.get("place") or "").strip()
        lat, lon = data.get("latitude"), data.get("longitude")
        if "latitude" in self.errors or "longitude" in self.errors:
            return data
        known = places.by_label(text) if text else None
        if lat is not None and lon is not None:
            data["location"] = (lat, lon, known.label if known else text)
        elif lat is not None or lon is not None:
            self.add_error("longitude" if lon is None else "latitude", "Give both latitude and longitude, or pick a place instead.")
        elif known is not None:
            data["location"] = (known.latitude, known.longitude, known.label)
        elif text:
            self.add_error("place", f"We don't know “{text}”. Pick a place from the list, or enter coordinates.")
        else:
            self.add_error("place", self.place_required_message)
        return data


class JobEditForm(PlaceMixin):
    """The details a customer may change while the job is open (``services.job_update``)."""

    place_required_message = "Choose where the job is: a place from the list, or coordinates."

    title = forms.CharField(
        label="Title", max_length=120, widget=forms.TextInput(attrs={"placeholder": "e.g. Leaking kitchen tap", "autocomplete": "off"})
    )
    description = forms.CharField(
        label="Describe the job",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "What's wrong, what you'd like done, access, parking…"}),
    )
    budget_min = money_field(_in_currency("Budget from"))
    budget_max = money_field(_in_currency("Budget up to"))
    window_start = forms.DateTimeField(label="Preferred from", required=False, widget=DateTimeLocalInput())
    window_end = forms.DateTimeField(label="Preferred until", required=False, widget=DateTimeLocalInput())
    is_emergency = forms.BooleanField(label="It's an emergency (needs someone today)", required=False)

    field_order = [
        "trade",
        "title",
        "description",
        "place",
        "latitude",
        "longitude",
        "budget_min",
        "budget_max",
        "window_start",
        "window_end",
        "is_emergency",
        "photos",
    ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("budget_min") or Decimal("0"), data.get("budget_max") or Decimal("0")
        data["budget_min"], data["budget_max"] = low, high
        if high < low and "budget_max" not in self.errors:
            self.add_error("budget_max", "The maximum must be at least the minimum.")
        start, end = data.get("window_start"), data.get("window_end")
        if (start is None) != (end is None) and not ({"window_start", "window_end"} & set(self.errors)):
            self.add_error("window_end" if end is None else "window_start", "Give both the start and the end of the window, or neither.")
        elif start and end and end <= start:
            self.add_error("window_end", "The window must end after it starts.")
        return data

    def job_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``job_post`` / ``job_update`` (valid forms only)."""
        data = self.cleaned_data
        latitude, longitude, place = data["location"]
        return {
            "title": data["title"],
            "description": data["description"],
            "latitude": latitude,
            "longitude": longitude,
            "place": place,
            "budget_min": data["budget_min"],
            "budget_max": data["budget_max"],
            "window_start": data["window_start"],
            "window_end": data["window_end"],
            "is_emergency": data["is_emergency"],
        }


class JobPostForm(JobEditForm):
    trade = forms.ModelChoiceField(label="Trade", queryset=Trade.objects.all(), empty_label="Choose a trade…", to_field_name="slug")
    photos = MultipleImageField(
        label="Add photos", required=False, help_text="Up to 5 photos (JPEG, PNG or WebP, 5 MB each) help tradespeople quote accurately."
    )
    # Rendered with the form: a double-clicked submit (or a retried one) posts the same key,
    # and job_post returns the job the first request created.
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    # A direct request ("request a quote from this pro", /jobs/new/?pro=<id>): the tradesperson's user id.
    pro = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


class ProfileForm(PlaceMixin):
    place_required_message = "Choose where you are based: a place from the list, or coordinates."

    business_name = forms.CharField(label="Business name", max_length=120)
    trades = forms.ModelMultipleChoiceField(
        label="Trades", queryset=Trade.objects.all(), widget=forms.CheckboxSelectMultiple, help_text="You get leads for these trades."
    )
    service_radius_km = forms.IntegerField(
        label="Service radius (km)",
        min_value=1,
        max_value=200,
        initial=15,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="How far from your base you travel for work.",
    )
    bio = forms.CharField(
        label="About your business",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Experience, qualifications, the kind of work you love…"}),
    )
    is_accepting_leads = forms.BooleanField(label="I'm accepting new leads", required=False, initial=True)
    legal_name = forms.CharField(
        label="Registered or trading name",
        max_length=160,
        required=False,
        help_text="Printed on your invoices, e.g. your company's registered name. Leave empty to use the business name.",
    )
    business_address = forms.CharField(
        label="Business address",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
        help_text="Printed on your invoices.",
    )
    vat_registered = forms.BooleanField(
        label="My business is VAT registered",
        required=False,
        help_text="Leave unticked if you are below the VAT threshold: your quotes then carry no VAT.",
    )
    vat_number = forms.CharField(
        label="VAT number",
        max_length=24,
        required=False,
        help_text="Needed if you are VAT registered: GB followed by 9 digits, e.g. GB123456789.",
    )
    vat_rate_percent = forms.DecimalField(
        label="VAT rate (%)",
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
        help_text="The standard rate unless you use another scheme.",
    )

    field_order = [
        "business_name",
        "trades",
        "place",
        "latitude",
        "longitude",
        "service_radius_km",
        "bio",
        "is_accepting_leads",
        "legal_name",
        "business_address",
        "vat_registered",
        "vat_number",
        "vat_rate_percent",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].label = "Base (place or postcode district)"

    def clean_vat_number(self) -> str:
        number = str(self.cleaned_data.get("vat_number") or "")
        if not self.data.get("vat_registered") and not number.strip():
            return ""
        try:
            return vat.normalise_vat_number(number)
        except ValidationError as exc:
            raise ValidationError(vat.VAT_NUMBER_MESSAGE) from exc

    def invoice_details(self) -> InvoiceDetails:
        data = self.cleaned_data
        percent = data.get("vat_rate_percent")
        return InvoiceDetails(
            legal_name=data.get("legal_name", ""),
            business_address=data.get("business_address", ""),
            vat_registered=bool(data.get("vat_registered")),
            vat_number=data.get("vat_number", ""),
            vat_rate=None if percent is None else (percent / 100).quantize(Decimal("0.0001")),
        )


class BoardFilterForm(forms.Form):
    """The jobs board's search box and filters (GET)."""

    q = forms.CharField(
        label="Search", max_length=200, required=False, widget=forms.SearchInput(attrs={"placeholder": "e.g. boiler, leaking tap, rewire"})
    )
    trade = forms.ChoiceField(label="Trade", required=False)
    max_km = forms.IntegerField(label="Within (km)", min_value=1, max_value=500, required=False, widget=forms.NumberInput(attrs={"min": 1}))
    budget_min = money_field(_in_currency("Budget from"))
    budget_max = money_field(_in_currency("Budget up to"))
    emergency = forms.BooleanField(label="Emergencies only", required=False)

    def __init__(self, *args: Any, has_base: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_base = has_base
        trade = self.fields["trade"]
        assert isinstance(trade, forms.ChoiceField)
        trade.choices = [("", "All trades"), *((t.slug, t.name) for t in Trade.objects.all())]
        if not has_base:
            self.fields["max_km"].help_text = "Set your base on your profile to filter by distance."
            self.fields["max_km"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        low, high = data.get("budget_min"), data.get("budget_max")
        if low is not None and high is not None and high < low:
            self.add_error("budget_max", "The maximum must be at least the minimum.")
        return data

    @property
    def active(self) -> bool:
        """Whether any filter narrows the board (then live arrivals are not added)."""
        if not self.is_bound or not self.is_valid():
            return False
        return any(v not in (None, "", False) for v in self.cleaned_data.values())
