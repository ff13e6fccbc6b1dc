"""Reviews (write model) and the rating read models.

:class:`Review` is one per job (a database constraint), changed only by ``reviews.services`` with an
event in the same transaction.  :class:`RatedReview` and :class:`RatingSummary` are read models written
only by the ``ratings`` consumer (``reviews.projections``) from those events; the consumer is also the
only writer of ``jobs.ProStats.rating_average`` / ``rating_count``, which matching ranks by.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from marketplace.moderation import Moderation

ASPECTS = ("punctuality", "quality", "value", "communication")
STARS = [MinValueValidator(1), MaxValueValidator(5)]


def _stars_check(field: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(**{f"{field}__gte": 1, f"{field}__lte": 5}), name=f"review_{field}_1_to_5")


class Review(models.Model):
    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="review")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received")
    rating = models.PositiveSmallIntegerField(validators=STARS, help_text="Overall, 1 to 5 stars.")
    punctuality = models.PositiveSmallIntegerField(validators=STARS)
    quality = models.PositiveSmallIntegerField(validators=STARS)
    value = models.PositiveSmallIntegerField(validators=STARS)
    communication = models.PositiveSmallIntegerField(validators=STARS)
    comment = models.TextField(max_length=2000, blank=True)
    reply = models.TextField(max_length=2000, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    is_hidden = models.BooleanField(default=False, help_text="Hidden by staff: off the public profile and out of rating summaries.")
    moderation_reason = models.CharField(max_length=500, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Why a hidden review is hidden: pending (the rules or reports: waiting for a check) or rejected (staff hid it).
    # ``is_hidden`` stays the one switch for public visibility and rating summaries.
    moderation_status = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.APPROVED, db_index=True)
    moderation_flags = models.CharField(max_length=200, blank=True, help_text="What the rules or reports found in the comment.")
    # The reply is public only when approved; pending and rejected replies show to the tradesperson and staff only.
    reply_status = models.CharField(max_length=10, choices=Moderation.choices, default=Moderation.APPROVED, db_index=True)
    reply_flags = models.CharField(max_length=200, blank=True, help_text="What the rules or reports found in the reply.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "review"
        verbose_name_plural = "reviews"
        ordering = ["-created_at", "-id"]
        constraints = [_stars_check(f) for f in ("rating", *ASPECTS)]
        indexes = [models.Index(fields=["tradesperson", "-created_at"], name="review_pro_recent_idx")]

    def __str__(self) -> str:
        return f"{self.rating}★ for job {self.job_id}"

    def aspects(self) -> dict[str, int]:
        return {a: getattr(self, a) for a in ASPECTS}


# --- reports and moderation decisions ------------------------------------------------------


class Target(models.TextChoices):
    """What a report or a decision is about: a review's comment, its reply, or a public profile."""

    REVIEW = "review", "Review"
    REPLY = "reply", "Review reply"
    PROFILE = "profile", "Profile"


class Report(models.Model):
    """Someone (signed in or not) says a review, a reply or a public profile breaks the rules.

    Open until staff decide on the item (``resolved_at``); ``settings.MODERATION["REPORT_THRESHOLD"]`` open
    reports take the item off public pages until then (``reviews.moderation.report_file``).
    """

    class Reason(models.TextChoices):
        ABUSIVE = "abusive", "Abusive or offensive"
        CONTACT = "contact", "Contact details or links"
        FAKE = "fake", "Fake or misleading"
        PRIVATE = "private", "Shares private information"
        OTHER = "other", "Something else"

    target = models.CharField(max_length=10, choices=Target.choices)
    review = models.ForeignKey(Review, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    profile = models.ForeignKey("jobs.TradespersonProfile", null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    text = models.TextField(max_length=1000, blank=True)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "report"
        verbose_name_plural = "reports"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target="profile", profile__isnull=False, review__isnull=True)
                | models.Q(target__in=["review", "reply"], review__isnull=False, profile__isnull=True),
                name="report_one_target",
            )
        ]
        indexes = [models.Index(fields=["resolved_at", "target"], name="report_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.get_target_display().lower()})"


class ModerationDecision(models.Model):
    """One staff decision (or an automatic hide by reports), who and when: the moderation audit trail."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        HIDE = "hide", "Hidden"
        RESTORE = "restore", "Restored"
        AUTO_HIDE = "auto_hide", "Hidden by reports"

    target = models.CharField(max_length=10, choices=Target.choices)
    object_id = models.BigIntegerField(help_text="The review id (review, reply) or the profile owner's user id.")
    tradesperson = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    reason = models.CharField(max_length=500, blank=True)
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "moderation decision"
        verbose_name_plural = "moderation decisions"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.get_target_display().lower()} {self.object_id}"


# --- read models (the ratings consumer only) ---------------------------------------------


class RatedReview(models.Model):
    """The consumer's copy of each review's ratings and visibility, from the events alone.

    Summaries are recomputed from these rows, so applying an event twice, late or again in a
    replay gives the same numbers (``last_sequence`` ignores stale events of the job).
    """

    review_id = models.BigIntegerField(primary_key=True)
    job_id = models.BigIntegerField()
    tradesperson_id = models.BigIntegerField()
    rating = models.PositiveSmallIntegerField()
    punctuality = models.PositiveSmallIntegerField()
    quality = models.PositiveSmallIntegerField()
    value = models.PositiveSmallIntegerField()
    communication = models.PositiveSmallIntegerField()
    hidden = models.BooleanField(default=False)
    posted_at = models.DateTimeField()
    last_sequence = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["tradesperson_id", "posted_at"], name="ratedreview_pro_time_idx")]

    def __str__(self) -> str:
        return f"review {self.review_id}: {self.rating}★"


class RatingSummary(models.Model):
    """Per tradesperson: count, average, distribution and aspect averages of their visible reviews."""

    tradesperson_id = models.BigIntegerField(primary_key=True)
    count = models.PositiveIntegerField(default=0)
    average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    stars_1 = models.PositiveIntegerField(default=0)
    stars_2 = models.PositiveIntegerField(default=0)
    stars_3 = models.PositiveIntegerField(default=0)
    stars_4 = models.PositiveIntegerField(default=0)
    stars_5 = models.PositiveIntegerField(default=0)
    punctuality = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    quality = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    value = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    communication = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "rating summaries"

    def __str__(self) -> str:
        return f"{self.average or '–'} from {self.count} review(s) of {self.tradesperson_id}"

    @property
    def distribution(self) -> dict[str, int]:
        return {str(n): getattr(self, f"stars_{n}") for n in range(1, 6)}

    @property
    def aspect_averages(self) -> dict[str, Decimal | None]:
        return {a: getattr(self, a) for a in ASPECTS}
