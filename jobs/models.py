"""Jobs, tradesperson profiles, leads and bids (write model) and their read models.

Write-model rows change only through ``jobs/services.py``, which also emits the
events.  Read models (``JobBoardEntry``, ``TradeActivity``, ``ProStats``) are
maintained only by ``jobs/projections.py`` from those events.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from marketplace.moderation import Moderation

from .vat import standard_rate, validate_vat_number

LATITUDE = [MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))]
LONGITUDE = [MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))]


class Trade(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TradeQuestion(models.Model):
    """A question the job form asks for one trade ("Gas or electric?"); answers are checked by ``jobs/questions.py``.

    ``key`` is stable (answers, events and tradespeople's exclusions name it) and unique across
    trades, so an exclusion "heating_fuel=oil" means one thing.  A question with a condition is
    asked only when an earlier question of the same trade has the given answer.
    """

    class Kind(models.TextChoices):
        CHOICE = "choice", "One choice"
        MULTIPLE = "multiple", "Several choices"
        NUMBER = "number", "Number"
        YES_NO = "yes_no", "Yes or no"
        TEXT = "text", "Short text"
        PHOTO = "photo", "Photo"

    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(
        max_length=60, unique=True, help_text="Stable name of the question in answers and events, e.g. boiler_fuel. Do not change it."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Questions are asked in this order (smallest first).")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHOICE)
    label = models.CharField(max_length=160, help_text="The question as the customer reads it.")
    help = models.CharField("help text", max_length=240, blank=True, help_text="A hint shown under the question.")
    required = models.BooleanField(default=True, help_text="The customer must answer it (when it is shown).")
    min_value = models.DecimalField(
        "smallest number", max_digits=10, decimal_places=2, null=True, blank=True, help_text="Number questions only."
    )
    max_value = models.DecimalField(
        "largest number", max_digits=10, decimal_places=2, null=True, blank=True, help_text="Number questions only."
    )
    show_if_question = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dependent_questions",
        verbose_name="only when question",
        help_text="Ask this question only when this earlier question of the same trade…",
    )
    show_if_value = models.CharField(
        "has the answer", max_length=60, blank=True, help_text="…has this answer: a choice's value, or yes / no."
    )

    class Meta:
        ordering = ["trade", "position", "pk"]
        verbose_name = "trade question"

    def __str__(self) -> str:
        return f"{self.trade}: {self.label}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.show_if_question_id is not None:
            parent = self.show_if_question
            assert parent is not None
            if parent.trade_id != self.trade_id or parent.pk == self.pk:
                errors["show_if_question"] = "Choose another question of the same trade."
            elif (parent.position, parent.pk or 0) >= (self.position, self.pk or 1 << 62):
                errors["show_if_question"] = "The question it depends on must come earlier (a smaller position)."
            if not self.show_if_value:
                errors["show_if_value"] = "Say which answer shows this question."
        elif self.show_if_value:
            errors["show_if_value"] = "Choose the question this answer belongs to, or leave it empty."
        if self.min_value is not None and self.max_value is not None and self.max_value < self.min_value:
            errors["max_value"] = "The largest number must be at least the smallest."
        if errors:
            raise ValidationError(errors)


class QuestionChoice(models.Model):
    """One answer a choice question offers ("Gas", "Oil")."""

    question = models.ForeignKey(TradeQuestion, on_delete=models.CASCADE, related_name="choices")
    value = models.SlugField(max_length=60, help_text="Stable name in answers and exclusions, e.g. oil.")
    label = models.CharField(max_length=120, help_text="What the customer reads.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["question", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["question", "value"], name="question_choice_value_unique")]

    def __str__(self) -> str:
        return self.label


class TradespersonProfile(models.Model):
    """A trade business: what it does, where, and how far it travels."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pro_profile")
    business_name = models.CharField(max_length=120)
    bio = models.TextField(max_length=2000, blank=True)
    trades = models.ManyToManyField(Trade, related_name="pros")
    base_latitude = models.DecimalField(max_digits=8, decimal_places=5, validators=LATITUDE)
    base_longitude = models.DecimalField(max_digits=8, decimal_places=5, validators=LONGITUDE)
    base_place = models.CharField(max_length=120, blank=True)
    service_radius_km = models.PositiveIntegerField(default=15, validators=[MinValueValidator(1), MaxValueValidator(200)])
    is_accepting_leads = models.BooleanField(default=True)
    # Answers to trade questions this business does not take ("heating_fuel=oil"): matching skips such jobs.
    declined_answers = models.JSONField(
        default=list, blank=True, help_text='Answers this business does not take, as "question_key=value"; matching skips those jobs.'
    )
    # Badges that only admins set (Django admin), after checking documents.
    is_id_verified = models.BooleanField(default=False)
    is_insured = models.BooleanField(default=False)
    # What a compliant invoice needs from the supplier (jobs/vat.py). A business that is not VAT
    # registered charges no VAT: its quotes are priced at 0 % whatever ``vat_rate`` holds.
    legal_name = models.CharField(
        max_length=160, blank=True, help_text="Registered or trading name printed on invoices (the business name when empty)."
    )
    business_address = models.TextField(max_length=500, blank=True, help_text="The business address printed on invoices.")
    vat_registered = models.BooleanField(default=False, help_text="Registered for VAT: quotes add VAT at the rate below.")
    vat_number = models.CharField(max_length=14, blank=True, validators=[validate_vat_number], help_text="GB followed by 9 or 12 digits.")
    vat_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=standard_rate,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="A fraction: 0.2000 is 20 %. Used only when VAT registered.",
    )
    # Whether the public profile and the directory show this business: the rules in marketplace.moderation
    # (business name, bio) when saved; staff in the moderation queue (reviews admin); reports past the threshold.
    moderation_status = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.APPROVED, db_index=True)
    moderation_flags = models.CharField(max_length=200, blank=True, help_text="What the rules or reports found.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(vat_rate__gte=0, vat_rate__lte=1), name="profile_vat_rate_fraction"),
        ]

    def __str__(self) -> str:
        return self.business_name

    @property
    def invoice_name(self) -> str:
        return self.legal_name or self.business_name

    @property
    def charged_tax_rate(self) -> Decimal:
        """The VAT rate this business's new quotes are priced with: 0 unless VAT registered."""
        return self.vat_rate if self.vat_registered else Decimal("0")


class Job(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        AWARDED = "awarded", "Awarded"
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="jobs")
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=5000)
    latitude = models.DecimalField(max_digits=8, decimal_places=5, validators=LATITUDE)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, validators=LONGITUDE)
    place = models.CharField(max_length=120, blank=True)
    budget_min = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    budget_max = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    window_start = models.DateTimeField(null=True, blank=True, help_text="Preferred time window (UTC).")
    window_end = models.DateTimeField(null=True, blank=True)
    is_emergency = models.BooleanField(default=False)
    # The trade questions' answers (jobs/questions.py), in question order, each with the question's label and the
    # answer's words frozen as they were asked: [{"key", "label", "kind", "value", "text", "photo_id"?}].
    answers = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    # How many times matching has run (1 = first offer, 2+ = widened).
    match_round = models.PositiveSmallIntegerField(default=1)
    awarded_bid = models.OneToOneField("Bid", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The awarded bid's tradesperson, stored when the job is awarded (``job_award``, same transaction) so
    # "who is doing this job" is a column, not a join: ``jobs.roles.job_role`` and the read side use it.
    tradesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="awarded_jobs",
        help_text="The tradesperson whose bid was accepted (set with awarded_bid).",
    )
    expires_at = models.DateTimeField(db_index=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    # Whether the title may be shown on public listings (the home page): set by the rules in
    # marketplace.moderation when posted or retitled, then by staff in the admin queue.
    moderation_status = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.APPROVED, db_index=True)
    moderation_flags = models.CharField(max_length=200, blank=True, help_text="What the rules found in the title.")
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # "Request a quote from this pro": matching offers the job to this tradesperson alone until
    # ``exclusive_until``; when they decline or that time passes, the clock clears it and matching
    # invites others (``jobs.services.job_direct_request_open``).
    requested_pro = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="direct_requests",
        help_text="The tradesperson the customer asked first (a direct request).",
    )
    exclusive_until = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="While set, only the requested tradesperson has the lead (UTC)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="job_idempotency_key_unique",
            ),
            models.CheckConstraint(condition=models.Q(budget_max__gte=models.F("budget_min")), name="job_budget_range"),
            models.CheckConstraint(
                condition=models.Q(window_start__isnull=True) | models.Q(window_end__gt=models.F("window_start")),
                name="job_window_order",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


def job_photo_path(instance: JobPhoto, filename: str) -> str:
    return f"jobs/{instance.job_id}/{filename}"


class JobPhoto(models.Model):
    """A photo of a job, stored without its metadata (``marketplace.images``), with its thumbnail.

    Seen only through ``/photos/<id>/`` and ``/photos/<id>/thumb/``, which check who asks
    (``selectors.visible_job_photo``); the file's own storage URL is never shown to anyone.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=job_photo_path, validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp"])])
    # Made once at upload; empty only for photos uploaded before thumbnails existed (manage.py clean_photos).
    thumbnail = models.ImageField(upload_to=job_photo_path, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"photo {self.pk} of job {self.job_id}"

    @property
    def url(self) -> str:
        return reverse("job-photo", args=[self.pk])

    @property
    def thumb_url(self) -> str:
        return reverse("job-photo-thumb", args=[self.pk])


def portfolio_photo_path(instance: PortfolioPhoto, filename: str) -> str:
    return f"portfolio/{instance.profile_id}/{filename}"


class PortfolioPhoto(models.Model):
    """A photo of a tradesperson's past work, public on their profile page (stored as ``JobPhoto`` is)."""

    profile = models.ForeignKey(TradespersonProfile, on_delete=models.CASCADE, related_name="portfolio")
    image = models.ImageField(upload_to=portfolio_photo_path)
    thumbnail = models.ImageField(upload_to=portfolio_photo_path)
    caption = models.CharField(max_length=140, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"portfolio photo {self.pk} of profile {self.profile_id}"

    @property
    def url(self) -> str:
        return reverse("portfolio-photo", args=[self.pk])

    @property
    def thumb_url(self) -> str:
        return reverse("portfolio-photo-thumb", args=[self.pk])


class Lead(models.Model):
    """The lead ledger: a job offered to a tradesperson, when they saw it and whether they bid.

    A lead is *live* until matching withdraws it (``withdrawn_at``): the customer moved the job or
    changed its trade so that it no longer fits the tradesperson.  A withdrawn lead stays in the
    ledger (the tradesperson's page says why), takes no bid, and no longer counts against the
    job's lead cap; matching revives it if the job fits them again.
    """

    class WithdrawnReason(models.TextChoices):
        JOB_CHANGED = "job_changed", "This job changed and no longer matches you"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="leads")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leads")
    match_round = models.PositiveSmallIntegerField(default=1)
    distance_km = models.DecimalField(max_digits=7, decimal_places=2)
    score = models.DecimalField(max_digits=6, decimal_places=4)
    offered_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    bid_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=20, choices=WithdrawnReason.choices, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True, help_text="When the tradesperson turned down a direct request.")

    class Meta:
        ordering = ["-offered_at"]
        constraints = [models.UniqueConstraint(fields=["job", "tradesperson"], name="lead_once_per_job")]

    def __str__(self) -> str:
        return f"lead job {self.job_id} -> {self.tradesperson_id}"


class Bid(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SHORTLISTED = "shortlisted", "Shortlisted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        ACCEPTED = "accepted", "Accepted"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="bids")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bids")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    message = models.TextField(max_length=2000, blank=True)
    earliest_start = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    revision = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["amount", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["job", "tradesperson"], name="bid_once_per_job"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="bid_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"bid {self.pk} on job {self.job_id}: {self.amount}"


# A bid still in the running: the customer may yet accept it (widening waits while a job has one).
LIVE_BID_STATUSES = (Bid.Status.ACTIVE, Bid.Status.SHORTLISTED)


# --- read models ------------------------------------------------------------------------


class TradeActivity(models.Model):
    """Read model: open and total posted jobs per trade.

    Counters are not idempotent by themselves; the consumer's inbox makes each
    event count exactly once.
    """

    trade_slug = models.SlugField(primary_key=True)
    trade_name = models.CharField(max_length=80)
    open_jobs = models.IntegerField(default=0)
    posted_total = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "trade activity"
        verbose_name_plural = "trade activities"

    def __str__(self) -> str:
        return f"{self.trade_name}: {self.open_jobs} open"


class JobBoardEntry(models.Model):
    """Read model: one row per job as tradespeople see it on the board.

    Maintained only by ``jobs.projections.JobBoardProjection``; ``last_sequence``
    makes it ignore stale or repeated events.
    """

    job_id = models.BigIntegerField(primary_key=True)
    customer_id = models.BigIntegerField(db_index=True)
    trade_slug = models.SlugField()
    trade_name = models.CharField(max_length=80)
    title = models.CharField(max_length=120)
    description = models.TextField()
    latitude = models.FloatField()
    longitude = models.FloatField()
    place = models.CharField(max_length=120, blank=True)
    budget_min = models.DecimalField(max_digits=10, decimal_places=2)
    budget_max = models.DecimalField(max_digits=10, decimal_places=2)
    window_start = models.DateTimeField(null=True)
    window_end = models.DateTimeField(null=True)
    is_emergency = models.BooleanField()
    # The job's answers to its trade's questions (job.posted v3); db_default: the projection's raw INSERT does not name it.
    answers = models.JSONField(default=list, blank=True, db_default=models.Value([], output_field=models.JSONField()))
    status = models.CharField(max_length=20, db_index=True)
    bid_count = models.PositiveIntegerField(default=0)
    posted_at = models.DateTimeField()
    last_sequence = models.PositiveBigIntegerField()
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["-is_emergency", "-posted_at"]
        indexes = [GinIndex(fields=["search"], name="jobboard_search_gin")]
        verbose_name = "job board entry"
        verbose_name_plural = "job board entries"

    def __str__(self) -> str:
        return f"#{self.job_id} {self.title}"


class ProStats(models.Model):
    """Read model: a tradesperson's lead and bid record (response time feeds matching)."""

    tradesperson_id = models.BigIntegerField(primary_key=True)
    leads_offered = models.PositiveIntegerField(default=0)
    leads_seen = models.PositiveIntegerField(default=0)
    bids_placed = models.PositiveIntegerField(default=0)
    jobs_won = models.PositiveIntegerField(default=0)
    response_seconds_total = models.FloatField(default=0)
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    # Booked appointments the tradesperson did not turn up to (job.no_show, side "tradesperson").
    no_shows = models.PositiveIntegerField(default=0, db_default=0)  # db_default: raw upserts (reviews) need not name it

    class Meta:
        verbose_name = "pro stats"
        verbose_name_plural = "pro stats"  # one row per tradesperson; "stats" is already plural

    def __str__(self) -> str:
        return f"stats of {self.tradesperson_id}"

    @property
    def average_response_minutes(self) -> float | None:
        return average_response_minutes(self.response_seconds_total, self.bids_placed)


def average_response_minutes(response_seconds_total: float, bids_placed: int | None) -> float | None:
    """Mean minutes from lead to bid, one decimal; None before a first bid (ProStats, and matching's rows)."""
    if not bids_placed:
        return None
    return round(response_seconds_total / bids_placed / 60, 1)


def credential_document_path(instance: Credential, filename: str) -> str:
    # A random name: the scan may show a home address, and media URLs must not be guessable from the profile.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"credentials/{instance.profile_id}/{uuid.uuid4().hex}.{extension}"


class Credential(models.Model):
    """A trade registration or an insurance policy a tradesperson claims; staff check it in admin.

    Changed only by ``jobs/credentials.py`` (each change that moves a badge emits a ``credential.*``
    event).  A badge shows while the credential is verified and ``expires_on`` has not passed
    (``jobs.selectors.badges_for``); the clock marks passed ones expired (``jobs/periodic.py``).
    """

    class Kind(models.TextChoices):
        GAS_SAFE = "gas_safe", "Gas Safe registered"
        NICEIC = "niceic", "NICEIC approved contractor"
        NAPIT = "napit", "NAPIT registered"
        OFTEC = "oftec", "OFTEC registered"
        FENSA = "fensa", "FENSA approved installer"
        PUBLIC_LIABILITY = "public_liability_insurance", "Public liability insurance"

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting verification"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    profile = models.ForeignKey(TradespersonProfile, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    number = models.CharField(max_length=40, help_text="Registration or policy number, as printed on the card or certificate.")
    expires_on = models.DateField(help_text="The last day it is valid (UK date).")
    document = models.FileField(
        upload_to=credential_document_path,
        blank=True,
        validators=[FileExtensionValidator(["pdf", "jpg", "jpeg", "png", "webp"])],
        help_text="Optional: a scan or photo of the card or certificate, seen only by staff.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.CharField(max_length=300, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-expires_on"]
        indexes = [
            # Badges of a page of profiles, and the clock's "verified and past its date" sweep.
            models.Index(fields=["profile", "status", "expires_on"], name="credential_badge_idx"),
            models.Index(fields=["status", "expires_on"], name="credential_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"
