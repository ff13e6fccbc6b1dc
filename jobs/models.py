"""Job postings (write model) and the jobs board (read model)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Trade(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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
    latitude = models.DecimalField(max_digits=8, decimal_places=5, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.DecimalField(max_digits=8, decimal_places=5, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    place = models.CharField(max_length=120, blank=True)
    budget_min = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    budget_max = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    is_emergency = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
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
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class TradeActivity(models.Model):
    """Read model: open and total posted jobs per trade (home page, matching widening).

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

    Maintained only by ``jobs.projections.JobBoardProjection`` from job events;
    ``last_sequence`` makes it ignore stale or repeated events.
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
    is_emergency = models.BooleanField()
    status = models.CharField(max_length=20, db_index=True)
    posted_at = models.DateTimeField()
    last_sequence = models.PositiveBigIntegerField()
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["-posted_at"]
        indexes = [GinIndex(fields=["search"], name="jobboard_search_gin")]

    def __str__(self) -> str:
        return f"#{self.job_id} {self.title}"
