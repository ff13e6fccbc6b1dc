"""The insights read model: daily aggregates per trade and tradesperson, and the per-job facts behind them.

Everything here is written only by the ``insights`` consumer (``insights/projections.py``) and is
rebuilt from the log by ``manage.py replay_events insights``.

- :class:`DailyMetric` is what the dashboards read: one row per (UTC day, trade, tradesperson) with
  additive counters and sums.  ``tradesperson_id = 0`` is the platform-wide row; a tradesperson's own
  numbers are on their rows.  Ratios (win rate, averages, on-time rate, utilisation) are computed at
  read time from the sums, so any date range and trade filter is a ``SUM`` over rows.
- The ``*Fact`` tables remember just enough about each job, bid and payment to turn a later event into
  the right increment (the appointment a late arrival is measured against, the amount a revision
  changes, the payment's last version), and to take back what a changed fact had added.
"""

from __future__ import annotations

from django.db import models

PLATFORM = 0  # DailyMetric.tradesperson_id of the platform-wide rows


class DailyMetric(models.Model):
    day = models.DateField(help_text="UTC day.")
    trade_slug = models.CharField(max_length=80)
    tradesperson_id = models.IntegerField(help_text="0 = platform-wide.")
    jobs_posted = models.IntegerField(default=0)
    leads = models.IntegerField(default=0, help_text="Jobs offered to the tradesperson by matching.")
    bids = models.IntegerField(default=0)
    quote_total = models.DecimalField(max_digits=14, decimal_places=2, default=0, help_text="Sum of the bids' current amounts.")
    jobs_bid = models.IntegerField(default=0, help_text="Jobs that got their first bid (from this tradesperson, on their rows).")
    first_bid_seconds = models.FloatField(default=0, help_text="Posted (or offered) to first bid, summed over jobs_bid.")
    jobs_awarded = models.IntegerField(default=0)
    jobs_completed = models.IntegerField(default=0)
    jobs_cancelled = models.IntegerField(default=0)
    jobs_expired = models.IntegerField(default=0, help_text="Open jobs that expired without an award (platform rows only).")
    repeat_jobs = models.IntegerField(default=0, help_text="Completed jobs whose customer had an earlier completed job (with them).")
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0, help_text="Money kept from customers (captured - refunded).")
    platform_fees = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    arrivals = models.IntegerField(default=0)
    arrivals_on_time = models.IntegerField(default=0, help_text="Arrived from the early grace before the start to the late grace after it.")
    arrivals_early = models.IntegerField(default=0, help_text="Arrived before the window opened.")
    arrivals_late = models.IntegerField(default=0, help_text="Arrived after the window closed.")
    arrival_delay_seconds = models.FloatField(default=0, help_text="Lateness against the appointment start (early counts 0).")
    scheduled_seconds = models.FloatField(default=0, help_text="Worker time booked (appointment lengths), on the appointment's day.")
    used_seconds = models.FloatField(default=0, help_text="Worker time on the job (start of work to completion, less pauses).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "trade_slug", "tradesperson_id"], name="insights_daily_unique")]
        indexes = [models.Index(fields=["tradesperson_id", "day"], name="insights_daily_pro_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.trade_slug} #{self.tradesperson_id}"


class JobFact(models.Model):
    job_id = models.BigIntegerField(primary_key=True)
    customer_id = models.IntegerField()
    trade_slug = models.CharField(max_length=80)
    posted_at = models.DateTimeField()
    first_bid_at = models.DateTimeField(null=True)
    tradesperson_id = models.IntegerField(null=True)
    status = models.CharField(max_length=20)
    appointment_starts_at = models.DateTimeField(null=True)
    appointment_ends_at = models.DateTimeField(null=True)
    arrived_at = models.DateTimeField(null=True)
    work_started_at = models.DateTimeField(null=True)
    paused_at = models.DateTimeField(null=True)
    paused_seconds = models.FloatField(default=0)
    completed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"job {self.job_id}"


class ProJobFact(models.Model):
    """One tradesperson's relation to one job: when it was offered, when they first bid."""

    job_id = models.BigIntegerField()
    tradesperson_id = models.IntegerField()
    offered_at = models.DateTimeField(null=True)
    first_bid_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job_id", "tradesperson_id"], name="insights_projob_unique")]

    def __str__(self) -> str:
        return f"job {self.job_id} / #{self.tradesperson_id}"


class BidFact(models.Model):
    bid_id = models.BigIntegerField(primary_key=True)
    job_id = models.BigIntegerField()
    tradesperson_id = models.IntegerField()
    day = models.DateField()
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"bid {self.bid_id}"


class PaymentFact(models.Model):
    payment_id = models.BigIntegerField(primary_key=True)
    job_id = models.BigIntegerField()
    tradesperson_id = models.IntegerField()
    version = models.IntegerField()
    kept = models.DecimalField(max_digits=12, decimal_places=2)
    platform_revenue = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"payment {self.payment_id} v{self.version}"


class FirstCompletion(models.Model):
    """The earliest completed job of a customer, platform-wide (tradesperson_id 0) or with one tradesperson.

    Every later completion of that customer (in that scope) is a repeat job.  Kept by completion
    time, not arrival order, so a rebuild that meets the jobs in another order counts the same.
    """

    tradesperson_id = models.IntegerField()
    customer_id = models.IntegerField()
    job_id = models.BigIntegerField()
    completed_at = models.DateTimeField()
    trade_slug = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tradesperson_id", "customer_id"], name="insights_first_completion_unique")]

    def __str__(self) -> str:
        return f"customer {self.customer_id} first with #{self.tradesperson_id}: job {self.job_id}"
