"""Workers, their weekly hours and time off, and appointments that the database refuses to double-book.

``Appointment.during`` is the range the worker is blocked for: ``[starts_at, ends_at + travel
buffer)``, the buffer being the worker's travel buffer when the appointment was booked (kept in
``travel_buffer_minutes``).  Because every booked appointment carries the buffer *after* it, two
appointments of one worker that do not overlap are always at least a buffer apart.  The services
write ``during``; check constraints pin its lower bound to ``starts_at`` and its upper bound to
no earlier than ``ends_at``.  An exclusion constraint (btree_gist: same worker, overlapping
``during``) over booked appointments makes double booking impossible whatever the Python checks
missed, for example two requests racing each other.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.db import models

from marketplace.accounts.models import validate_time_zone


class Worker(models.Model):
    """Someone who does the work for a tradesperson business (the owner is one by default).

    ``role`` is what their login may do for the business (``scheduling.team`` answers it): the
    owner's own worker is ``owner``; an invited login is a ``dispatcher`` (runs the calendar and
    dispatch board) or a ``technician`` (sees their own day).  A worker without a login has a role
    that only matters once they get one.
    """

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        DISPATCHER = "dispatcher", "Dispatcher"
        TECHNICIAN = "technician", "Technician"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workers")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="worker", help_text="Their login, if any."
    )
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TECHNICIAN)
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])
    travel_buffer_minutes = models.PositiveIntegerField(default=30)
    active = models.BooleanField(default=True)
    calendar_feed_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="SHA-256 of the secret in the worker's calendar feed URL; empty: no feed. The secret itself is never stored.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(travel_buffer_minutes__lte=24 * 60), name="worker_buffer_at_most_a_day"),
            models.UniqueConstraint(
                fields=["calendar_feed_hash"], condition=~models.Q(calendar_feed_hash=""), name="worker_feed_hash_unique"
            ),
            # Only the business's own login is its owner: a role change can never hand the business to someone else.
            models.CheckConstraint(
                condition=~models.Q(role="owner") | models.Q(user=models.F("owner")), name="worker_owner_role_is_the_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """An email invitation to join a business's team; accepting it makes a login and its worker.

    Only a SHA-256 hash of the token is stored (the token is in the emailed link and nowhere else).
    Usable once, until ``expires_at`` (``TEAM_INVITATION_TTL_HOURS``), unless revoked; resending
    makes a new token and a new expiry, so an older link stops working.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_invitations")
    email = models.EmailField()
    name = models.CharField(max_length=120)
    role = models.CharField(max_length=20, choices=[c for c in Worker.Role.choices if c[0] != Worker.Role.OWNER])
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    worker = models.OneToOneField(Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "email"], condition=models.Q(status="pending"), name="invitation_one_pending_per_email"
            ),
            models.CheckConstraint(condition=~models.Q(role="owner"), name="invitation_never_for_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.owner_id} ({self.status})"


class WorkingHours(models.Model):
    """One stretch of weekly working time in the worker's zone (several per day allowed)."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday ... 6 = Sunday")
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["worker_id", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="hours_weekday_0_6"),
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="hours_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} day {self.weekday} {self.start}-{self.end}"


class TimeOff(models.Model):
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["worker_id", "starts_at"]
        verbose_name_plural = "time off"
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="time_off_end_after_start")]

    def __str__(self) -> str:
        return f"{self.worker_id} off {self.starts_at:%Y-%m-%d %H:%M}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="appointments")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    travel_buffer_minutes = models.PositiveIntegerField(default=0)
    during = DateTimeRangeField(help_text="[starts_at, ends_at + travel buffer): what the worker is blocked for.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED, db_index=True)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    conflict_reason = models.TextField(
        blank=True, default="", help_text="Why this booking no longer fits its job's dependencies (empty when it does)."
    )
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="When the conflict was found; cleared with the conflict.")
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer confirmed this time (from a reminder); cleared when the time changes."
    )
    confirmed_via = models.CharField(
        max_length=10, blank=True, default="", help_text="How the customer confirmed: web or sms (empty until confirmed)."
    )
    reschedule_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer asked for another time (by SMS); cleared when the time changes."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_end_after_start"),
            models.CheckConstraint(
                condition=models.Q(
                    during__isempty=False, during__startswith=models.F("starts_at"), during__endswith__gte=models.F("ends_at")
                ),
                name="appointment_during_matches_times",
            ),
            models.UniqueConstraint(fields=["job"], condition=models.Q(status="booked"), name="appointment_one_booked_per_job"),
            ExclusionConstraint(
                name="appointment_no_double_booking",
                expressions=[("worker", RangeOperators.EQUAL), ("during", RangeOperators.OVERLAPS)],
                condition=models.Q(status="booked"),
                violation_error_code="slot_taken",
                violation_error_message="This worker already has an appointment at that time.",
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} with {self.worker_id} at {self.starts_at:%Y-%m-%d %H:%M}"


class BookedTime(models.Model):
    """Every start a job was booked for, and who ended that booking and when (append-only but for the end).

    The cancellation policy (``payments/cancellation.py``) reads this history, not the current
    appointment, so moving an appointment away at the last minute cannot dodge a late fee: a
    booking ended (moved or cancelled) by the customer within the late window still counts.
    """

    class Side(models.TextChoices):
        NONE = "", "Still booked"
        CUSTOMER = "customer", "The customer"
        TRADESPERSON = "tradesperson", "The tradesperson"

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="booked_times")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="booked_times")
    starts_at = models.DateTimeField()
    booked_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it was moved or cancelled; empty while it stands.")
    ended_by = models.CharField(max_length=20, choices=Side.choices, blank=True, default="")

    class Meta:
        ordering = ["job_id", "booked_at", "id"]
        indexes = [models.Index(fields=["job", "starts_at"], name="booked_time_job_start")]

    def __str__(self) -> str:
        return f"job {self.job_id} booked for {self.starts_at:%Y-%m-%d %H:%M}"


class JobDependency(models.Model):
    """``job`` may not start before ``depends_on``'s appointment ends ("paint after the wall is built").

    Both jobs belong to one customer (checked by ``scheduling.services.dependency_add``, which
    also refuses cycles while holding a lock on all of that customer's jobs).
    """

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="prerequisite_links")
    depends_on = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="dependent_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job_id", "depends_on_id"]
        verbose_name_plural = "job dependencies"
        constraints = [
            models.UniqueConstraint(fields=["job", "depends_on"], name="job_dependency_unique_pair"),
            models.CheckConstraint(condition=~models.Q(job=models.F("depends_on")), name="job_dependency_not_self"),
        ]

    def __str__(self) -> str:
        return f"“{self.job.title}” after “{self.depends_on.title}”"


class Reminder(models.Model):
    """One reminder of one appointment time, sent at most once.

    Rows are written with the booking (and rewritten when the time changes) in the same
    transaction; the clock claims due rows with ``FOR UPDATE SKIP LOCKED`` and, in one
    transaction, stamps ``sent_at`` and emits ``appointment.reminder``.  The unique key
    includes the start, so a rescheduled appointment is reminded again for its new time and
    never twice for the same one.
    """

    class Kind(models.TextChoices):
        DAY_BEFORE = "24h", "24 hours before"
        HOUR_BEFORE = "1h", "1 hour before"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    starts_at = models.DateTimeField(help_text="The appointment start this reminder is about.")
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["appointment", "kind", "starts_at"], name="reminder_once_per_time")]
        indexes = [models.Index(fields=["due_at"], condition=models.Q(sent_at__isnull=True), name="reminder_unsent_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} reminder of appointment {self.appointment_id}"


class SlotProposal(models.Model):
    """Times a tradesperson offers for an awarded job; the customer books one of them."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        WITHDRAWN = "withdrawn", "Withdrawn"  # superseded by a newer proposal, or the job was booked another way

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="slot_proposals")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="proposals")
    starts = ArrayField(models.DateTimeField(), help_text="Offered start times (UTC), 1 to 5.")
    duration_minutes = models.PositiveIntegerField()
    message = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["job"], condition=models.Q(status="open"), name="slot_proposal_one_open_per_job"),
            models.CheckConstraint(condition=models.Q(duration_minutes__gt=0), name="slot_proposal_positive_duration"),
        ]

    def __str__(self) -> str:
        return f"proposal for job {self.job_id} ({self.status})"


# --- read models (maintained by the ``capacity`` consumer; rebuildable with replay_events) ----


class WorkerDayCapacity(models.Model):
    """A worker's free time on one local day: working hours minus appointments (with travel) minus time off."""

    worker_id = models.BigIntegerField()
    owner_id = models.BigIntegerField(db_index=True)
    day = models.DateField(help_text="Local date in the worker's time zone.")
    working_minutes = models.PositiveIntegerField(default=0)
    booked_minutes = models.PositiveIntegerField(default=0, help_text="Appointments plus their travel buffers.")
    free_minutes = models.PositiveIntegerField(default=0)
    longest_free_minutes = models.PositiveIntegerField(default=0)
    free_intervals = models.JSONField(default=list, help_text="[[start, end], ...] UTC ISO 8601.")
    appointments = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["worker_id", "day"]
        verbose_name_plural = "worker day capacities"
        constraints = [models.UniqueConstraint(fields=["worker_id", "day"], name="worker_day_capacity_unique")]

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.day}: {self.free_minutes} min free"


class TradeAreaCapacity(models.Model):
    """Free time per trade, area and day across every business offering that trade there."""

    trade_slug = models.SlugField()
    area = models.CharField(max_length=40, help_text="Grid cell of the business's base (0.1 degree).")
    area_label = models.CharField(max_length=120, blank=True)
    day = models.DateField()
    workers = models.PositiveIntegerField(default=0)
    fully_booked_workers = models.PositiveIntegerField(default=0)
    working_minutes = models.PositiveIntegerField(default=0)
    free_minutes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["trade_slug", "area", "day"]
        verbose_name_plural = "trade area capacities"
        constraints = [models.UniqueConstraint(fields=["trade_slug", "area", "day"], name="trade_area_capacity_unique")]

    def __str__(self) -> str:
        return f"{self.trade_slug} {self.area} {self.day}: {self.free_minutes} min free"


class EmergencyReserve(models.Model):
    """A business's capacity kept free for emergencies: each worker keeps ``minutes`` of every working day unbooked.

    Normal bookings (the customer's or the tradesperson's job page, and the free slots offered there) never
    eat into it; the dispatcher's board may (it is what the reserve is for).  No row means no reserve.
    """

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="emergency_reserve")
    minutes = models.PositiveIntegerField(default=0, help_text="Per worker and working day.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(minutes__lte=24 * 60), name="emergency_reserve_at_most_a_day")]

    def __str__(self) -> str:
        return f"{self.owner_id} keeps {self.minutes} min a day"
