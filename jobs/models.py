"""Jobs, tradesperson profiles, leads and bids (write model) and their read models.

Write-model rows change only through ``jobs/services.py``, which also emits the
events.  Read models (``JobBoardEntry``, ``TradeActivity``, ``ProStats``) are
maintained only by ``jobs/projections.py`` from those events.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models

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
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=job_photo_path, validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp"])])
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"photo {self.pk} of job {self.job_id}"


class Lead(models.Model):
    """The lead ledger: a job offered to a tradesperson, when they saw it and whether they bid."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="leads")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leads")
    match_round = models.PositiveSmallIntegerField(default=1)
    distance_km = models.DecimalField(max_digits=7, decimal_places=2)
    score = models.DecimalField(max_digits=6, decimal_places=4)
    offered_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    bid_at = models.DateTimeField(null=True, blank=True)
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
    status = models.CharField(max_length=20, db_index=True)
    bid_count = models.PositiveIntegerField(default=0)
    posted_at = models.DateTimeField()
    last_sequence = models.PositiveBigIntegerField()
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["-is_emergency", "-posted_at"]
        indexes = [GinIndex(fields=["search"], name="jobboard_search_gin")]

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
