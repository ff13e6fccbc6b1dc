"""A job's visit (the tradesperson's trip and time on site), its steps, and the trail of GPS points.

:class:`Visit` (one per job) has two groups of columns with one writer each:

- the **stage** columns (``stage``, ``worker``, the ``*_at`` stamps, ``arrived_auto``,
  ``drift_alerted_at``) are the write model, changed only by ``tracking.services`` with an event
  in the same transaction;
- the **position** columns (``last_*``, ``speed_*``, ``eta_*``) are a read model written only by
  the ``tracking`` consumer from GPS pings (``tracking.projections``), always with
  ``QuerySet.update`` so a consumer never overwrites a stage a request just changed.

:class:`VisitStep` is the append-only history the timeline shows (pause/resume can repeat).
:class:`TrackPoint` is the trail, written by the consumer and deleted after
``TRACKING['PING_RETENTION_HOURS']`` by ``manage.py purge_pings``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class Stage(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ON_THE_WAY = "on_the_way", "On the way"
    ARRIVED = "arrived", "Arrived"
    WORKING = "working", "Working"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


# While a visit is in one of these stages its worker's pings are accepted.
PING_STAGES = (Stage.ON_THE_WAY, Stage.ARRIVED)

# A visit's position, speed and ETA columns (the tracking consumer's read model on the row) with their
# empty values: what a rebuild starts from and what a called-off trip forgets.
POSITION_FIELDS = {
    "last_lat": None,
    "last_lng": None,
    "last_accuracy_m": None,
    "last_recorded_at": None,
    "speed_kmh": None,
    "speed_samples": 0,
    "eta_minutes": None,
    "eta_at": None,
    "eta_distance_km": None,
    "eta_speed_kmh": None,
    "eta_late": False,
}


class Visit(models.Model):
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="visit")
    worker = models.ForeignKey("scheduling.Worker", null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.SCHEDULED)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    on_the_way_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    arrived_auto = models.BooleanField(default=False, help_text="Arrival was detected by the geofence, not tapped.")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    drift_alerted_at = models.DateTimeField(null=True, blank=True, help_text="When the customer was told the visit runs late (once).")
    customer_absent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the tradesperson, on site long enough, reported the customer absent (the job was cancelled)."
    )

    # Read model (tracking consumer only).
    last_lat = models.FloatField(null=True, blank=True)
    last_lng = models.FloatField(null=True, blank=True)
    last_accuracy_m = models.FloatField(null=True, blank=True)
    last_recorded_at = models.DateTimeField(null=True, blank=True)
    speed_kmh = models.FloatField(null=True, blank=True, help_text="Smoothed (EWMA) speed.")
    speed_samples = models.PositiveIntegerField(default=0)
    eta_minutes = models.FloatField(null=True, blank=True)
    eta_at = models.DateTimeField(null=True, blank=True)
    eta_distance_km = models.FloatField(null=True, blank=True)
    eta_speed_kmh = models.FloatField(null=True, blank=True)
    eta_late = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["stage"], name="visit_stage_idx")]

    def __str__(self) -> str:
        return f"visit of job {self.job_id} ({self.stage})"

    def customer_absent_from(self) -> datetime | None:
        """From when the tradesperson may report the customer absent: ``CUSTOMER_NO_SHOW_WAIT_MINUTES`` after arriving."""
        if self.stage != Stage.ARRIVED or self.arrived_at is None:
            return None
        return self.arrived_at + timedelta(minutes=int(settings.PAYMENTS["CUSTOMER_NO_SHOW_WAIT_MINUTES"]))


class VisitStep(models.Model):
    """One stage change, in order: the timeline both sides see."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    at = models.DateTimeField()
    auto = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.stage} at {self.at:%H:%M}"


class TrackPoint(models.Model):
    """One accepted GPS fix of a visit (the trail); purged after the retention."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="points")
    lat = models.FloatField()
    lng = models.FloatField()
    accuracy_m = models.FloatField()
    speed_mps = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at"]
        constraints = [models.UniqueConstraint(fields=["visit", "recorded_at"], name="trackpoint_once_per_time")]
        indexes = [models.Index(fields=["recorded_at"], name="trackpoint_recorded_idx")]

    def __str__(self) -> str:
        return f"{self.lat:.5f},{self.lng:.5f} at {self.recorded_at:%H:%M:%S}"
