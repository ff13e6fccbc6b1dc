"""The only code that changes reviews.  Each function writes its rows and its event in one transaction.

Rules (each refusal is a :class:`~marketplace.api_errors.ServiceError` with a stable code):

- ``review_post``: only the job's customer (403 ``not_your_job``), only once the job is completed
  (409 ``job_not_completed``), once per job (409 ``already_reviewed``, also enforced by the database),
  stars 1-5 (400 ``rating_out_of_range``).  Emits ``review.posted``.  A comment the moderation rules
  (:mod:`marketplace.moderation`) flag is posted hidden and pending: off the profile and out of the
  summary until staff approve it in the moderation queue (``reviews.moderation``).
- ``review_reply``: only the tradesperson reviewed (403 ``not_your_review``), once (409 ``already_replied``).
  Emits ``review.replied`` when the reply is public: at once when it passes the rules, else when staff
  approve it (until then only the tradesperson and staff see it).
- ``review_moderate``: staff only (403), hide or restore with a reason (400 ``reason_required``); repeating
  the current state changes nothing and emits nothing.  Emits ``review.moderated``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import Job
from jobs.roles import JobRole, job_role
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit
from marketplace.masking import mask
from marketplace.moderation import Moderation
from marketplace.moderation import status_for as moderation_status_for

from . import events as ev
from .models import ASPECTS, Review

MAX_TEXT = 2000


def _stars(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        label = "The overall rating" if name == "rating" else f"The {name} rating"
        raise ServiceError(
            f"{label} must be a whole number of stars from 1 to 5 (got {value!r}).", code="rating_out_of_range", kind=Refusal.INVALID
        )
    return value


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise ServiceError(f"The {what} is too long: at most {MAX_TEXT} characters.", code="too_long", kind=Refusal.INVALID)
    return mask(value)


class _ReviewFields(TypedDict):
    """The keys every review event carries (each event's TypedDict has these and its own)."""

    review_id: int
    job_id: int
    customer_id: int
    tradesperson_id: int


class _RatedReviewFields(_ReviewFields):
    """The keys of the events that carry the ratings in full (posted, moderated)."""

    rating: int
    aspects: ev.ReviewAspects


def _review_ids(review: Review) -> _ReviewFields:
    return _ReviewFields(review_id=review.pk, job_id=review.job_id, customer_id=review.customer_id, tradesperson_id=review.tradesperson_id)


def review_data(review: Review) -> _RatedReviewFields:
    aspects = ev.ReviewAspects(
        punctuality=review.punctuality, quality=review.quality, value=review.value, communication=review.communication
    )
    return _RatedReviewFields(**_review_ids(review), rating=review.rating, aspects=aspects)


def review_post(*, job: Job, customer: User, rating: int, aspects: dict[str, int], comment: str = "") -> Review:
    """The job's customer rates the tradesperson who did it.  Emits ``review.posted``; once per job."""
    stars = {"rating": _stars("rating", rating), **{a: _stars(a, (aspects or {}).get(a)) for a in ASPECTS}}
    # The rules read what was written (masking would hide the contact details they look for); the store keeps it masked.
    status, found = moderation_status_for(comment or "")
    comment = _text(comment, "comment")
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=job.pk)
            if job_role(customer, job) is not JobRole.CUSTOMER:
                raise ServiceError("Only the customer who posted this job can review it.", code="not_your_job", kind=Refusal.FORBIDDEN)
            if job.status != Job.Status.COMPLETED:
                raise ServiceError(
                    f"You can review the work once the job is completed (it is {job.get_status_display().lower()}).",
                    code="job_not_completed",
                )
            if Review.objects.filter(job=job).exists():
                raise ServiceError("You have already reviewed this job; a job has one review.", code="already_reviewed")
            tradesperson_id = job.tradesperson_id  # who did the job: the awarded tradesperson
            if tradesperson_id is None:
                raise ServiceError("Nobody was awarded this job, so there is nobody to review.", code="job_not_completed")
            review = Review.objects.create(
                job=job,
                customer=customer,
                tradesperson_id=tradesperson_id,
                comment=comment,
                moderation_status=status,
                moderation_flags=found[:200],
                is_hidden=status != Moderation.APPROVED,
                **stars,
            )
            emit(
                ev.REVIEW_POSTED,
                aggregate_id=job.pk,
                data=ev.ReviewPostedV1(
                    **review_data(review), comment=review.comment, posted_at=review.created_at.isoformat(), hidden=review.is_hidden
                ),
                actor_id=customer.pk,
            )
    except IntegrityError as exc:  # two submissions raced past the check: the constraint keeps one
        raise ServiceError("You have already reviewed this job; a job has one review.", code="already_reviewed") from exc
    return review


def review_reply(*, review: Review, actor: User, reply: str) -> Review:
    """The reviewed tradesperson answers, once.  Emits ``review.replied``."""
    reply_status, reply_flags = moderation_status_for(reply or "")  # on the text as written: masking hides what the rules look for
    text = _text(reply, "reply")
    if not text:
        raise ServiceError("Write a reply first.", code="reply_required", kind=Refusal.INVALID)
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.tradesperson_id != actor.pk:
            raise ServiceError("Only the tradesperson who was reviewed can reply.", code="not_your_review", kind=Refusal.FORBIDDEN)
        if review.replied_at is not None:
            raise ServiceError("You have already replied to this review; a review has one reply.", code="already_replied")
        review.reply, review.replied_at = text, timezone.now()
        review.reply_status, review.reply_flags = reply_status, reply_flags[:200]
        review.save(update_fields=["reply", "replied_at", "reply_status", "reply_flags"])
        if review.reply_status == Moderation.APPROVED:
            emit_reply_public(review, actor_id=actor.pk)
    return review


def emit_reply_public(review: Review, *, actor_id: int | None) -> None:
    """``review.replied``: the reply is public now (posted passing the rules, or approved by staff).  In the caller's transaction."""
    assert review.replied_at is not None
    emit(
        ev.REVIEW_REPLIED,
        aggregate_id=review.job_id,
        data=ev.ReviewRepliedV1(**_review_ids(review), reply=review.reply, replied_at=review.replied_at.isoformat()),
        actor_id=actor_id,
    )


def review_moderate(*, review: Review, moderator: User, hide: bool, reason: str) -> Review:
    """Staff hide a review (off the profile and out of summaries) or restore it, with a reason.

    Idempotent: asking for the state the review is already in changes nothing and emits nothing.
    Emits ``review.moderated``.
    """
    if not moderator.is_staff:
        raise ServiceError("Only staff moderate reviews.", code="forbidden", kind=Refusal.FORBIDDEN)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason for hiding or restoring the review.", code="reason_required", kind=Refusal.INVALID)
    if len(reason) > 500:
        raise ServiceError("The reason is too long: at most 500 characters.", code="too_long", kind=Refusal.INVALID)
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.is_hidden == hide:
            return review
        status = Moderation.REJECTED if hide else Moderation.APPROVED
        set_review_visibility(review, hidden=hide, status=status, reason=reason, moderator=moderator)
    return review


def set_review_visibility(review: Review, *, hidden: bool, status: str, reason: str, moderator: User | None) -> None:
    """Store a review's visibility and emit ``review.moderated`` (the ratings read model follows it).

    The caller holds the review's row lock inside its transaction and decided that the visibility changes.
    """
    review.is_hidden, review.moderation_status, review.moderation_reason = hidden, status, reason[:500]
    review.moderated_at, review.moderated_by = timezone.now(), moderator
    review.save(update_fields=["is_hidden", "moderation_status", "moderation_reason", "moderated_at", "moderated_by"])
    emit(
        ev.REVIEW_MODERATED,
        aggregate_id=review.job_id,
        data=ev.ReviewModeratedV1(
            **review_data(review),
            hidden=hidden,
            reason=review.moderation_reason,
            moderator_id=moderator.pk if moderator else None,
            posted_at=review.created_at.isoformat(),
            moderated_at=review.moderated_at.isoformat(),
        ),
        actor_id=moderator.pk if moderator else None,
    )
