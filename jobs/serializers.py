"""API input and output shapes for jobs, the board, leads, bids, profiles and places.

Input serializers only parse and bound what a client sends; they have no fields for
what a client must never set (status, customer, tradesperson, awarded bid, totals),
so such keys are ignored.  Rules about who may do what live in ``jobs/services.py``.
Output serializers render money and coordinates as strings (``Decimal``).  The lead, bid and
board cards and a job's status label come from ``jobs/presenters.py`` (``Presented`` fields), the
same functions that build what the pages and the live pushes show.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.accounts.models import User
from marketplace.api import money_field
from marketplace.serializer_fields import FieldsBuiltOnce, Presented, SlugRelatedField

from . import places, presenters
from .models import Bid, Job, JobBoardEntry, JobPhoto, Lead, ProStats, QuestionChoice, Trade, TradeQuestion, TradespersonProfile
from .services import MAX_AMOUNT

# --- shared fields and errors -----------------------------------------------------------


class CoordinateField(serializers.DecimalField):
    """A latitude or longitude, rounded to 5 decimal places (about a metre) instead of refused.

    Phones report far more decimals than the model stores; refusing them would only
    push every client into rounding the same way.
    """

    def __init__(self, *, limit: int, **kwargs: Any) -> None:
        super().__init__(
            max_digits=8,
            decimal_places=5,
            min_value=Decimal(-limit),
            max_value=Decimal(limit),
            rounding=ROUND_HALF_EVEN,
            **kwargs,
        )

    def validate_precision(self, value: Decimal) -> Decimal:
        # quantize() needs at most 3 whole digits to fit 8 digits; the range check follows.
        if abs(value) >= 1000:
            self.fail("max_whole_digits", max_whole_digits=3)
        return value


def latitude_field(**kwargs: Any) -> CoordinateField:
    return CoordinateField(limit=90, **kwargs)


def longitude_field(**kwargs: Any) -> CoordinateField:
    return CoordinateField(limit=180, **kwargs)


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    """A file sent as a multipart/form-data part."""


def fill_from_place(attrs: dict[str, Any], *, place_key: str, lat_key: str, lon_key: str, required: bool) -> dict[str, Any]:
    """Latitude/longitude from a known place label when the client sent a label but no coordinates.

    ``required``: the coordinates must end up known (creating); otherwise (editing) an
    unknown label is kept as text and the coordinates stay as they are.
    """
    has_lat, has_lon = attrs.get(lat_key) is not None, attrs.get(lon_key) is not None
    if has_lat != has_lon:
        missing = lon_key if has_lat else lat_key
        raise serializers.ValidationError({missing: ["Give both latitude and longitude, or neither and a known place."]})
    label = attrs.get(place_key, "")
    if not label:
        if required and not has_lat:
            message = "Give latitude and longitude, or a known place (see /api/places/)."
            raise serializers.ValidationError({lat_key: [message], lon_key: [message]})
        return attrs
    place = places.by_label(label)
    if has_lat:
        # The name is public: a district's label, or the district of a postcode (never the full postcode).
        return {**attrs, place_key: place.label if place else places.outward_code(label) or label}
    if place is None:
        if required:
            raise serializers.ValidationError(
                {place_key: [f"Unknown place {label!r}: give a UK postcode or district (see /api/places/), or coordinates."]}
            )
        return {**attrs, place_key: places.outward_code(label) or label}
    return {**attrs, place_key: place.label, lat_key: place.latitude, lon_key: place.longitude}


# --- catalogue --------------------------------------------------------------------------


class TradeOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = ["slug", "name"]


class QuestionChoiceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuestionChoice
        fields = ["value", "label"]


class TradeQuestionOutputSerializer(serializers.ModelSerializer):
    """A question the job form asks for a trade; answer it in a new job's ``answers`` under its ``key``."""

    choices = QuestionChoiceOutputSerializer(many=True, read_only=True)
    show_if_question: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True, help_text="Asked only when this question (its key)…"
    )
    show_if_value = serializers.CharField(read_only=True, help_text="…has this answer; empty when always asked.")

    class Meta:
        model = TradeQuestion
        fields = ["key", "kind", "label", "help", "required", "min_value", "max_value", "choices", "show_if_question", "show_if_value"]


class TradeWithQuestionsSerializer(serializers.ModelSerializer):
    questions = TradeQuestionOutputSerializer(many=True, read_only=True, help_text="In the order they are asked.")

    class Meta:
        model = Trade
        fields = ["slug", "name", "questions"]


class PlaceQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="Start of a postcode district (EH1), a full postcode (EH1 1AA: its district) or a place's name.",
    )
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50)


class PlaceOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    postcode = serializers.CharField()
    # The metaclass moves declared fields off the class, so this does not clobber Field.label at runtime.
    label = serializers.CharField(help_text="What to send as `place` (jobs) or `base_place` (profiles).")  # type: ignore[assignment]
    latitude = serializers.DecimalField(max_digits=8, decimal_places=5)
    longitude = serializers.DecimalField(max_digits=8, decimal_places=5)


# --- profiles ---------------------------------------------------------------------------


class ProProfileInputSerializer(serializers.Serializer):
    """A whole profile (PUT). Give base coordinates, or a known ``base_place`` to take them from."""

    business_name = serializers.CharField(max_length=120)
    bio = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    trades = SlugRelatedField(slug_field="slug", queryset=Trade.objects.all(), many=True, help_text="Trade slugs.")
    base_latitude = latitude_field(required=False)
    base_longitude = longitude_field(required=False)
    base_place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    service_radius_km = serializers.IntegerField(min_value=1, max_value=200, required=False, default=15)
    is_accepting_leads = serializers.BooleanField(required=False, default=True)
    declined_answers = serializers.ListField(
        child=serializers.CharField(max_length=130),
        required=False,
        max_length=500,
        help_text='Answers to trade questions you don\'t take, as "question_key=value" (see /api/trades/): matching skips those '
        "jobs. Left as it is when not sent.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return fill_from_place(attrs, place_key="base_place", lat_key="base_latitude", lon_key="base_longitude", required=True)


class ProProfileOutputSerializer(serializers.ModelSerializer):
    """The tradesperson's own profile, base coordinates included."""

    trades = TradeOutputSerializer(many=True, read_only=True)
    declined_answers = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text='Answers you don\'t take, as "question_key=value".'
    )

    class Meta:
        model = TradespersonProfile
        fields = [
            "business_name", "bio", "trades", "base_latitude", "base_longitude", "base_place",
            "service_radius_km", "is_accepting_leads", "declined_answers", "is_id_verified", "is_insured", "created_at",
        ]  # fmt: skip


class ProBadgesSerializer(serializers.ModelSerializer):
    class Meta:
        model = TradespersonProfile
        fields = ["is_id_verified", "is_insured"]


class ProStatsOutputSerializer(serializers.ModelSerializer):
    average_response_minutes = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = ProStats
        fields = ["average_response_minutes", "jobs_won", "rating_average", "rating_count"]


class ProPublicOutputSerializer(serializers.ModelSerializer):
    """What anyone signed in may see of a trade business: never its exact base, email or phone.

    Pass the tradesperson's ``ProStats`` (or None) as ``context["stats"]``.
    """

    user_id = serializers.IntegerField(read_only=True)
    trades = TradeOutputSerializer(many=True, read_only=True)
    badges = ProBadgesSerializer(source="*", read_only=True)
    stats = serializers.SerializerMethodField()

    class Meta:
        model = TradespersonProfile
        fields = ["user_id", "business_name", "bio", "trades", "base_place", "service_radius_km", "badges", "stats"]

    @extend_schema_field(ProStatsOutputSerializer)
    def get_stats(self, profile: TradespersonProfile) -> dict[str, Any]:
        stats = self.context.get("stats") or ProStats(tradesperson_id=profile.user_id)
        return dict(ProStatsOutputSerializer(stats).data)


# --- jobs -------------------------------------------------------------------------------


class AnswersField(serializers.JSONField):
    """{question key: value}: a JSON object, or a JSON string of one (multipart forms carry no objects)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise serializers.ValidationError("Send the answers as a JSON object: {question key: answer}.") from exc
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send the answers as a JSON object: {question key: answer}.")
        return data


class JobInputSerializer(serializers.Serializer):
    """A new job. Give coordinates, or a known ``place`` label (see /api/places/) to take them from."""

    trade = SlugRelatedField(slug_field="slug", queryset=Trade.objects.all())
    title = serializers.CharField(max_length=120, trim_whitespace=True)
    description = serializers.CharField(max_length=5000, trim_whitespace=True)
    latitude = latitude_field(required=False)
    longitude = longitude_field(required=False)
    place = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    budget_min = money_field(min_value=Decimal("0"), max_value=MAX_AMOUNT, default=Decimal("0"))
    budget_max = money_field(min_value=Decimal("0"), max_value=MAX_AMOUNT, default=Decimal("0"))
    window_start = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="ISO 8601; give both ends or neither."
    )
    window_end = serializers.DateTimeField(required=False, allow_null=True, default=None)
    is_emergency = serializers.BooleanField(default=False)
    photos = serializers.ListField(
        child=UploadField(),
        required=False,
        default=list,
        help_text="JPEG, PNG or WebP files (multipart/form-data), at most 5, each at most 5 MB.",
    )
    answers = AnswersField(
        required=False,
        default=dict,
        help_text="Answers to the trade's questions (GET /api/trades/): {question key: value}; a list of choice values for "
        "several choices, true/false or yes/no, a number, text. In multipart/form-data, a JSON string. A photo question's "
        "image is a file field named answer_photo.<key>.",
    )
    requested_pro: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, pro_profile__isnull=False),
        required=False,
        allow_null=True,
        default=None,
        help_text="A direct request: the tradesperson's user id. Only they get the lead until they decline or "
        "DIRECT_REQUEST_EXCLUSIVE_MINUTES pass without a bid; then matching invites others.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["budget_max"] < attrs["budget_min"]:
            raise serializers.ValidationError({"budget_max": ["Must be at least the minimum budget."]})
        return fill_from_place(attrs, place_key="place", lat_key="latitude", lon_key="longitude", required=True)


class JobUpdateInputSerializer(serializers.Serializer):
    """The fields of an open job its customer may change; send only those that change."""

    trade = SlugRelatedField(
        slug_field="slug",
        queryset=Trade.objects.all(),
        required=False,
        help_text="A trade slug. Changing it re-matches the job and drops the answers to the old trade's questions.",
    )
    title = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=5000, required=False)
    latitude = latitude_field(required=False)
    longitude = longitude_field(required=False)
    place = serializers.CharField(max_length=120, required=False, allow_blank=True)
    budget_min = money_field(min_value=Decimal("0"), max_value=MAX_AMOUNT, required=False)
    budget_max = money_field(min_value=Decimal("0"), max_value=MAX_AMOUNT, required=False)
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    is_emergency = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(f"Send at least one of: {', '.join(self.fields)}.")
        return fill_from_place(attrs, place_key="place", lat_key="latitude", lon_key="longitude", required=False)


class JobCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class JobPhotoOutputSerializer(serializers.ModelSerializer):
    """A photo's URLs are those of the views that check who asks (``/photos/<id>/``), never the storage's."""

    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = JobPhoto
        fields = ["id", "url", "thumbnail_url", "uploaded_at"]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, photo: JobPhoto) -> str:
        return self._absolute(photo.url)

    def get_thumbnail_url(self, photo: JobPhoto) -> str:
        return self._absolute(photo.thumb_url)


class AnswerOutputSerializer(serializers.Serializer):
    """An answer to a trade question, as it was asked when the job was posted."""

    key = serializers.CharField(help_text="The question's stable key.")
    # The metaclass moves declared fields off the class, so this does not clobber Field.label at runtime.
    label = serializers.CharField(help_text="The question as it was asked.")  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=TradeQuestion.Kind.choices)
    value = serializers.JSONField(help_text="A choice's value, yes/no, a number, text, a photo's URL; a list for several choices.")
    text = serializers.CharField(help_text="The answer in words.")
    photo_id = serializers.IntegerField(required=False, help_text="The job photo of a photo answer.")


class AnswerLineSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label (see PlaceOutputSerializer)
    text = serializers.CharField()


class JobOutputSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """A job as its customer, staff or a tradesperson offered it sees it.

    ``bid_count`` (bids not withdrawn) is shown to the job's customer only; pass the
    counts as ``context["bid_counts"]`` ({job id: count}) and the request as ``context["request"]``.
    """

    trade: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    trade_name = serializers.CharField(source="trade.name", read_only=True)
    photos = JobPhotoOutputSerializer(many=True, read_only=True)
    answers = AnswerOutputSerializer(many=True, read_only=True, help_text="Answers to the trade's questions, in the order asked.")
    awarded_bid: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    requested_pro: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The tradesperson asked first (a direct request), or null."
    )
    bid_count = serializers.SerializerMethodField()
    status_label = Presented(serializers.CharField(help_text="The status in words, as the pages show it."))

    class Meta:
        model = Job
        fields = [
            "id", "trade", "trade_name", "title", "description", "latitude", "longitude", "place",
            "budget_min", "budget_max", "window_start", "window_end", "is_emergency", "status", "status_label",
            "awarded_bid", "photos", "answers", "bid_count", "expires_at", "created_at", "updated_at",
            "requested_pro", "exclusive_until",
        ]  # fmt: skip

    def present(self, job: Job) -> dict[str, Any]:
        return presenters.job_status(job.status)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_bid_count(self, job: Job) -> int | None:
        request = self.context.get("request")
        counts: dict[int, int] | None = self.context.get("bid_counts")
        if counts is None or request is None or request.user.pk != job.customer_id:
            return None
        return counts.get(job.pk, 0)


class JobSummarySerializer(serializers.ModelSerializer):
    trade: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    trade_name = serializers.CharField(source="trade.name", read_only=True)
    # A plain string here: the job-status enum is documented once, on JobOutput.
    status = serializers.CharField(read_only=True, help_text="The job's status (see JobOutput.status).")

    class Meta:
        model = Job
        fields = [
            "id", "trade", "trade_name", "title", "place", "budget_min", "budget_max",
            "window_start", "window_end", "is_emergency", "status", "created_at",
        ]  # fmt: skip


# --- board ------------------------------------------------------------------------------


class BoardQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=200, help_text="Full-text search.")
    trade = serializers.SlugField(required=False, allow_blank=True, default="", help_text="A trade slug.")
    lat = serializers.FloatField(required=False, min_value=-90, max_value=90, help_text="Default: your profile's base.")
    lon = serializers.FloatField(required=False, min_value=-180, max_value=180, help_text="Default: your profile's base.")
    max_km = serializers.FloatField(required=False, min_value=0, max_value=20000, help_text="Needs a location (lat/lon or a profile).")
    budget_min = money_field(required=False, min_value=Decimal("0"), max_value=MAX_AMOUNT)
    budget_max = money_field(required=False, min_value=Decimal("0"), max_value=MAX_AMOUNT)
    emergency = serializers.BooleanField(required=False, default=False, help_text="1 for emergencies only.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lat" in attrs) != ("lon" in attrs):
            missing = "lon" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: ["Give both lat and lon, or neither."]})
        return attrs


class BoardEntrySerializer(serializers.ModelSerializer):
    """A job on the board: the board card (``presenters.board_card``) plus the read model's columns.

    Pass the job ids offered to the viewer as ``context["lead_job_ids"]`` to fill ``lead_url``.
    """

    trade = Presented(TradeOutputSerializer())
    status_label = Presented(serializers.CharField())
    posted_display = Presented(serializers.CharField(help_text="posted_at for people, in your time zone."))
    distance_km = Presented(
        serializers.FloatField(allow_null=True, help_text="From lat/lon (or your base); null when no location was known.")
    )
    lead_url = Presented(serializers.CharField(allow_null=True, help_text="Your lead page for this job; null when it is not your lead."))
    answers = Presented(AnswerLineSerializer(many=True, help_text="The job's answers to its trade's questions, photos left out."))

    class Meta:
        model = JobBoardEntry
        fields = [
            "job_id", "trade", "trade_slug", "trade_name", "title", "description", "latitude", "longitude",
            "place", "budget_min", "budget_max", "window_start", "window_end", "is_emergency",
            "status", "status_label", "bid_count", "posted_at", "posted_display", "last_sequence", "distance_km", "lead_url",
            "answers",
        ]  # fmt: skip

    def present(self, entry: JobBoardEntry) -> dict[str, Any]:
        return presenters.board_card(entry, lead_job_ids=self.context.get("lead_job_ids", frozenset()))


# --- leads ------------------------------------------------------------------------------


class LeadOutputSerializer(serializers.ModelSerializer):
    """A lead: the lead card (``presenters.lead_card``, as the leads page shows it) plus the lead's columns.

    Pass your bids on these jobs as ``context["bids"]`` ({job id: bid}): they decide the badge.
    """

    job = JobSummarySerializer(read_only=True)
    lead_id = Presented(serializers.IntegerField(help_text="The same as id."))
    job_id = Presented(serializers.IntegerField())
    title = Presented(serializers.CharField())
    trade = Presented(serializers.CharField(help_text="The trade's name."))
    place = Presented(serializers.CharField())
    budget_min = Presented(money_field())
    budget_max = Presented(money_field())
    is_emergency = Presented(serializers.BooleanField())
    offered_display = Presented(serializers.CharField(help_text="offered_at for people, in your time zone."))
    seen = Presented(serializers.BooleanField(help_text="Whether you opened it."))
    job_status = Presented(serializers.CharField())
    job_status_label = Presented(serializers.CharField())
    bid_status = Presented(serializers.CharField(allow_null=True, help_text="Your bid's status; null if you have not bid."))
    bid_status_label = Presented(serializers.CharField(allow_null=True))
    badge_status = Presented(serializers.CharField(help_text="Your bid's status, else the job's (open: not bid yet)."))
    badge_label = Presented(serializers.CharField(help_text="The badge in words, as the leads page shows it."))
    url = Presented(serializers.CharField(help_text="The lead's page."))
    withdrawn = Presented(serializers.BooleanField(help_text="Matching took this lead back: the job changed and no longer fits you."))
    withdrawn_reason = Presented(serializers.CharField(help_text="Why, in words (empty while the lead is live)."))

    class Meta:
        model = Lead
        fields = [
            "id", "job", "match_round", "distance_km", "offered_at", "seen_at", "bid_at",
            "lead_id", "job_id", "title", "trade", "place", "budget_min", "budget_max", "is_emergency", "offered_display",
            "seen", "job_status", "job_status_label", "bid_status", "bid_status_label", "badge_status", "badge_label", "url",
            "withdrawn", "withdrawn_reason", "withdrawn_at",
        ]  # fmt: skip

    def present(self, lead: Lead) -> dict[str, Any]:
        bids: dict[int, Bid] = self.context.get("bids") or {}
        return presenters.lead_card(lead, lead.job, bids.get(lead.job_id))


# --- bids -------------------------------------------------------------------------------


class BidDeclineInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BidderSerializer(serializers.ModelSerializer):
    """Who bid: enough to judge them and to open their public profile (/api/pros/<id>/)."""

    business_name = serializers.SerializerMethodField()
    is_id_verified = serializers.SerializerMethodField()
    is_insured = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "display_name", "business_name", "is_id_verified", "is_insured"]

    @staticmethod
    def _profile(user: User) -> TradespersonProfile | None:
        try:
            return user.pro_profile
        except TradespersonProfile.DoesNotExist:
            return None

    def get_business_name(self, user: User) -> str:
        profile = self._profile(user)
        return profile.business_name if profile else str(user)

    def get_is_id_verified(self, user: User) -> bool:
        profile = self._profile(user)
        return bool(profile and profile.is_id_verified)

    def get_is_insured(self, user: User) -> bool:
        profile = self._profile(user)
        return bool(profile and profile.is_insured)


class BidOutputSerializer(serializers.ModelSerializer):
    """A bid: the bid card (``presenters.bid_card``, as the job page and the live pushes show it) plus its columns.

    Pass the amounts before the last revision as ``context["previous_amounts"]`` ({bid id: amount}).
    """

    job: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)
    tradesperson = BidderSerializer(read_only=True)
    bid_id = Presented(serializers.IntegerField(help_text="The same as id."))
    job_id = Presented(serializers.IntegerField(help_text="The same as job."))
    tradesperson_id = Presented(serializers.IntegerField())
    business_name = Presented(serializers.CharField())
    earliest_start_display = Presented(serializers.CharField(help_text="earliest_start for people, in your time zone."))
    status_label = Presented(serializers.CharField())
    badge_label = Presented(serializers.CharField(help_text="The status as the bidder's list of leads names it."))
    previous_amount = Presented(money_field(allow_null=True, help_text="The amount before the last revision; null if none."))

    class Meta:
        model = Bid
        fields = [
            "id", "job", "tradesperson", "amount", "message", "earliest_start", "status", "revision", "created_at", "updated_at",
            "bid_id", "job_id", "tradesperson_id", "business_name", "earliest_start_display", "status_label", "badge_label",
            "previous_amount",
        ]  # fmt: skip
        extra_kwargs = {
            "amount": {
                "help_text": "What the customer pays, VAT included: the cheapest option's total of the latest quote, "
                "or once accepted the accepted total."
            }
        }

    def present(self, bid: Bid) -> dict[str, Any]:
        previous: dict[int, Decimal] = self.context.get("previous_amounts") or {}
        return presenters.bid_card(bid, previous_amount=previous.get(bid.pk))


class MeOutputSerializer(serializers.ModelSerializer):
    """The signed-in user. ``profile`` is the tradesperson's business profile (null until made, and for customers).

    Pass the profile (or None) as ``context["profile"]``.
    """

    profile = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "display_name", "role", "time_zone", "is_staff", "profile"]

    @extend_schema_field(ProProfileOutputSerializer(allow_null=True))
    def get_profile(self, user: User) -> dict[str, Any] | None:
        profile = self.context.get("profile")
        return dict(ProProfileOutputSerializer(profile).data) if profile is not None else None
