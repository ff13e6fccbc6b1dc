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
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import lazy
from django.utils.text import format_lazy

from marketplace import masking
from marketplace.money import currency_symbol

from . import places, questions, vat
from .models import Credential, Trade, TradeQuestion
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
    "portfolio_full": "photo",
    "no_profile": "photo",
    "bad_amount": "amount",
    "no_trades": "trades",
    "bad_vat_number": "vat_number",
    "bad_vat_rate": "vat_rate_percent",
}
# A trade question's field on the job form is named after its key: "q_heating_fuel" for answers.heating_fuel.
QUESTION_PREFIX = "q_"


def form_field_for(service_field: str) -> str:
    """The form field a ServiceError's ``field`` names (``answers.<key>`` is the question's field)."""
    if service_field.startswith("answers."):
        return QUESTION_PREFIX + service_field.removeprefix("answers.")
    return service_field


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


def _looks_like_a_postcode(text: str) -> bool:
    """Letters and digits only, mixed, 5 to 8 characters: someone typed a postcode (maybe mistyped), not a name."""
    compact = text.replace(" ", "")
    return 5 <= len(compact) <= 8 and compact.isalnum() and any(c.isdigit() for c in compact) and any(c.isalpha() for c in compact)


class PlaceMixin(forms.Form):
    """A UK postcode district (jobs/places.py; a full postcode is cut to its district), or explicit coordinates.

    After ``clean()``: ``cleaned_data["location"] = (latitude, longitude, place_name)``; the
    name is a district's label ("Edinburgh EH1"), never a full postcode or address.
    """

    place_required_message = "Choose a place from the list, or enter coordinates."

    place = forms.CharField(
        label="Place or postcode district",
        max_length=120,
        required=False,
        help_text="Your postcode or its first half, e.g. EH1 1AA or EH1. We keep only the district, so your address is never shown.",
        widget=forms.TextInput(
            attrs={"list": "places-list", "autocomplete": "off", "spellcheck": "false", "placeholder": "e.g. EH1 or Islington N1"}
        ),
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
        code = places.outward_code(text) if text and known is None else None
        both = lat is not None and lon is not None
        if code is None and known is None and text and _looks_like_a_postcode(text):
            self.add_error("place", f"“{text}” isn't a UK postcode. Type the first half of your postcode, e.g. EH1 or SW1A.")
        elif code is not None and not both:
            self.add_error("place", f"We don't know the postcode district {code}. Check it, or enter coordinates instead.")
        elif both:
            # The name is public: a district's label, the district alone (never a full postcode), or the text given.
            data["location"] = (lat, lon, known.label if known else code or text)
        elif lat is not None or lon is not None:
            self.add_error("longitude" if lon is None else "latitude", "Give both latitude and longitude, or pick a place instead.")
        elif known is not None:
            data["location"] = (known.latitude, known.longitude, known.label)
        elif text:
            self.add_error("place", f"We don't know “{text}”. Type your postcode or its first half (e.g. EH1), or pick from the list.")
        else:
            self.add_error("place", self.place_required_message)
        return data


class JobEditForm(PlaceMixin):
    """The details a customer may change while the job is open (``services.job_update``)."""

    place_required_message = "Choose where the job is: a place from the list, or coordinates."

    trade = forms.ModelChoiceField(
        label="Trade",
        queryset=Trade.objects.all(),
        empty_label="Choose a trade…",
        to_field_name="slug",
        help_text="Changing it invites tradespeople of the new trade instead, and drops the answers to this trade's questions.",
    )
    title = forms.CharField(
        label="Title",
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Leaking kitchen tap", "autocomplete": "off"}),
        help_text=f"Shown publicly once it passes our checks. {masking.FIELD_HINT}",
    )
    description = forms.CharField(
        label="Describe the job",
        max_length=5000,
        help_text=masking.FIELD_HINT,
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


class AskedMixin:
    """A trade question's field: shown as required or optional, but left for the service to refuse.

    The service (``questions.clean_answers``) decides whether an empty answer is wrong, since a
    required question that its condition hides must not be refused.
    """

    def validate(self, value: Any) -> None:
        if value in (None, "", [], ()):
            return
        super().validate(value)  # type: ignore[misc]


class AskedChoice(AskedMixin, forms.ChoiceField):
    pass


class AskedMultipleChoice(AskedMixin, forms.MultipleChoiceField):
    pass


class AskedText(AskedMixin, forms.CharField):
    pass


class AskedPhoto(AskedMixin, forms.FileField):
    pass


def question_field(question: TradeQuestion) -> forms.Field:
    """The form field that asks ``question``; its value is what ``questions.clean_answers`` checks."""
    common: dict[str, Any] = {"label": question.label, "required": question.required, "help_text": question.help}
    Kind = TradeQuestion.Kind
    if question.kind in (Kind.CHOICE, Kind.YES_NO):
        return AskedChoice(choices=questions.options(question), widget=forms.RadioSelect, **common)
    if question.kind == Kind.MULTIPLE:
        return AskedMultipleChoice(choices=questions.options(question), widget=forms.CheckboxSelectMultiple, **common)
    if question.kind == Kind.NUMBER:
        attrs: dict[str, Any] = {"inputmode": "decimal", "step": "any"}
        if question.min_value is not None:
            attrs["min"] = f"{question.min_value.normalize():f}"
        if question.max_value is not None:
            attrs["max"] = f"{question.max_value.normalize():f}"
        return AskedText(max_length=20, widget=forms.NumberInput(attrs=attrs), **common)
    if question.kind == Kind.PHOTO:
        return AskedPhoto(widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}), **common)
    return AskedText(max_length=settings.JOBS["ANSWER_TEXT_MAX_CHARS"], **common)


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
        # The chosen trade's questions (the trade posted, or the one the page starts with); the page's
        # script swaps them for another trade's (``views.job_questions``) when the trade changes.
        slug = self.data.get("trade") if self.is_bound else self.initial.get("trade")
        trade = Trade.objects.filter(slug=slug).first() if isinstance(slug, str) and slug else None
        self.questions = questions.questions_for(trade)
        for question in self.questions:
            self.fields[QUESTION_PREFIX + question.key] = question_field(question)

    def _raw(self, question: TradeQuestion) -> Any:
        name = QUESTION_PREFIX + question.key
        if self.is_bound:
            return self.data.getlist(name) if question.kind == TradeQuestion.Kind.MULTIPLE else self.data.get(name)  # type: ignore[attr-defined]
        return self.initial.get(name)

    @property
    def question_fields(self) -> list[tuple[forms.BoundField, TradeQuestion, bool]]:
        """(field, question, shown now) in order; "shown" follows the answers typed so far, as the page's script does."""
        given: dict[str, Any] = {}
        rows = []
        for question in self.questions:
            shown = questions.is_shown(question, given)
            raw = self._raw(question)
            if shown and raw not in (None, "", []):
                given[question.key] = {"value": raw}
            rows.append((self[QUESTION_PREFIX + question.key], question, shown))
        return rows

    def answers(self) -> dict[str, Any]:
        """{question key: value} for ``job_post`` (valid forms only); photos are in :meth:`answer_photos`."""
        return {q.key: self.cleaned_data.get(QUESTION_PREFIX + q.key) for q in self.questions if q.kind != TradeQuestion.Kind.PHOTO}

    def answer_photos(self) -> dict[str, UploadedFile]:
        photos = {q.key: self.cleaned_data.get(QUESTION_PREFIX + q.key) for q in self.questions if q.kind == TradeQuestion.Kind.PHOTO}
        return {key: upload for key, upload in photos.items() if upload}


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
        help_text=masking.FIELD_HINT,
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
    declined_answers = forms.MultipleChoiceField(
        label="Jobs you don't take",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick the answers you don't take on (say, oil boilers): we won't offer you jobs with them.",
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
        "declined_answers",
    ]

    def __init__(self, *args: Any, trades: list[Trade] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].label = "Base (place or postcode district)"
        # Any trade's answers are accepted; the page shows those of the business's trades (``trades``).
        self.declinable = questions.declinable_answers()
        shown = {group for group, _ in questions.declinable_answers(trades)} if trades is not None else set()
        field = self.fields["declined_answers"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [choice for _, answers in self.declinable for choice in answers]
        self.shown_groups = [(group, [value for value, _ in answers]) for group, answers in self.declinable if group in shown]

    @property
    def declined_groups(self) -> list[tuple[str, list[Any]]]:
        """The checkboxes of the answers a business may decline, one group per question of its trades."""
        boxes = {box.data["value"]: box for box in self["declined_answers"]}
        return [(group, [boxes[value] for value in values]) for group, values in self.shown_groups]

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


class PortfolioPhotoForm(forms.Form):
    """One photo of past work for the public profile; the service checks the file's content."""

    photo = forms.FileField(
        label="Photo of your work",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text="JPEG, PNG or WebP, 5 MB at most. We remove the location and camera details before anyone sees it.",
        error_messages={"required": "Choose a photo to upload first.", "empty": "That file is empty: choose another photo."},
    )
    caption = forms.CharField(label="Caption", max_length=140, required=False, help_text="What the job was, in a few words.")


class CredentialForm(forms.Form):
    """A trade registration or insurance policy the tradesperson adds for staff to check (``jobs.credentials.credential_add``)."""

    kind = forms.ChoiceField(label="Credential", choices=Credential.Kind.choices)
    number = forms.CharField(label="Registration or policy number", max_length=40)
    expires_on = forms.DateField(label="Valid until", widget=forms.DateInput(attrs={"type": "date"}), help_text="The last day it is valid.")
    document = forms.FileField(
        label="Card or certificate",
        required=False,
        help_text="A scan or photo (PDF, JPG, PNG), seen only by our staff. It speeds up the check.",
    )
