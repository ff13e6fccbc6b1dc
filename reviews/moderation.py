"""Moderation of public text on a tradesperson's page: reviews, review replies and the profile itself.

The rules (:mod:`marketplace.moderation`) run when the text is written (``reviews.services``,
``jobs.services.pro_profile_save``): text they flag starts *pending*, shown only to its author and staff.
This module is what happens after that:

- :func:`report_file`: anyone (signed in or not, rate limited: ``RATE_LIMITS["report"]``) reports a public
  review, reply or profile with a reason.  When ``settings.MODERATION["REPORT_THRESHOLD"]`` open reports
  stand against it, it goes back to pending (off public pages) until staff decide: ``content.hidden``.
- :func:`moderation_decide`: staff approve, hide or restore an item from the moderation queue (the reviews
  admin).  Every decision is a :class:`~reviews.models.ModerationDecision` row (who, when, why), closes the
  item's open reports and emits ``content.hidden`` / ``content.restored`` (the ``directory-live`` consumer
  pushes it to the open profile pages); a review's visibility also emits ``review.moderated`` (the ratings).

Deciding the state an item is already in changes nothing and emits nothing (the queue can be double-clicked).
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs.models import TradespersonProfile
from marketplace.accounts.models import User
from marketplace.errors import Refusal, ServiceError
from marketplace.events.outbox import emit
from marketplace.masking import mask
from marketplace.moderation import Moderation
from marketplace.ratelimit import check as rate_limit_check

from . import events as ev
from .models import ModerationDecision, Report, Review, Target
from .services import emit_reply_public, set_review_visibility

Action = Literal["approve", "hide", "restore"]
_NOT_FOUND = "That is no longer shown publicly, so there is nothing to report."


def _status(target: str, item: Review | TradespersonProfile) -> str:
    if isinstance(item, TradespersonProfile):
        return item.moderation_status
    return item.reply_status if target == Target.REPLY else item.moderation_status


def _lock(target: str, object_id: int) -> Review | TradespersonProfile | None:
    if target == Target.PROFILE:
        return TradespersonProfile.objects.select_for_update().filter(user_id=object_id).first()
    if target in (Target.REVIEW, Target.REPLY):
        return Review.objects.select_for_update().filter(pk=object_id).first()
    raise ServiceError("Choose what you are reporting.", code="bad_target", kind=Refusal.INVALID)


def _tradesperson_id(item: Review | TradespersonProfile) -> int:
    return item.user_id if isinstance(item, TradespersonProfile) else item.tradesperson_id


def _is_public(target: str, item: Review | TradespersonProfile) -> bool:
    if isinstance(item, TradespersonProfile):
        return item.moderation_status == Moderation.APPROVED
    if target == Target.REPLY:
        return item.replied_at is not None and item.reply_status == Moderation.APPROVED and not item.is_hidden
    return not item.is_hidden


def _open_reports(target: str, item: Review | TradespersonProfile) -> int:
    if isinstance(item, TradespersonProfile):
        return Report.objects.filter(profile=item, resolved_at__isnull=True).count()
    return Report.objects.filter(review=item, target=target, resolved_at__isnull=True).count()


def report_file(*, target: str, object_id: int, reason: str, text: str = "", reporter: User | None, client_address: str = "") -> Report:
    """Record a report on a public review, reply or profile; past the threshold the item waits for staff.

    Rate limited per signed-in user, or per client address when anonymous (``RATE_LIMITS["report"]``:
    429 ``rate_limited``).  Only what the public sees can be reported (404-like ``not_found`` otherwise).
    Emits ``content.hidden`` (and ``review.moderated`` for a review) when this report reaches the threshold.
    """
    if reason not in Report.Reason.values:
        raise ServiceError("Choose a reason for the report.", code="bad_reason", kind=Refusal.INVALID, field="reason")
    text = mask((text or "").strip())
    if len(text) > 1000:
        raise ServiceError("The details are too long: at most 1000 characters.", code="too_long", kind=Refusal.INVALID, field="text")
    who = f"user:{reporter.pk}" if reporter is not None and reporter.is_authenticated else f"addr:{client_address or 'unknown'}"
    rate_limit_check("report", who, what="reports")
    with transaction.atomic():
        item = _lock(target, object_id)
        if item is None or not _is_public(target, item):
            raise ServiceError(_NOT_FOUND, code="not_found", kind=Refusal.NOT_FOUND)
        report = Report.objects.create(
            target=target,
            review=item if isinstance(item, Review) else None,
            profile=item if isinstance(item, TradespersonProfile) else None,
            reason=reason,
            text=text,
            reporter=reporter if reporter is not None and reporter.is_authenticated else None,
        )
        reports = _open_reports(target, item)
        if reports >= settings.MODERATION["REPORT_THRESHOLD"]:
            why = f"Reported by {reports} people: waiting for a check"
            _apply(target, item, visible=False, status=Moderation.PENDING, reason=why, moderator=None, action="auto_hide")
    return report


def moderation_decide(*, target: str, object_id: int, moderator: User, action: Action, reason: str = "") -> bool:
    """Staff approve (a pending item), hide or restore a review, reply or profile; True if it changed.

    Closes the item's open reports and records the decision either way (a decision that confirms the current
    state, such as approving a reported review that is still public, still answers its reports).
    """
    if not moderator.is_staff:
        raise ServiceError("Only staff moderate public content.", code="forbidden", kind=Refusal.FORBIDDEN)
    if action not in ("approve", "hide", "restore"):
        raise ServiceError("Choose approve, hide or restore.", code="bad_action", kind=Refusal.INVALID)
    reason = (reason or "").strip()[:500] or {"approve": "Approved", "hide": "Hidden by staff", "restore": "Restored by staff"}[action]
    now = timezone.now()
    with transaction.atomic():
        item = _lock(target, object_id)
        if item is None:
            raise ServiceError("That item no longer exists.", code="not_found", kind=Refusal.NOT_FOUND)
        reports = Report.objects.filter(resolved_at__isnull=True)
        reports = reports.filter(profile=item) if isinstance(item, TradespersonProfile) else reports.filter(review=item, target=target)
        reports.update(resolved_at=now, resolved_by=moderator)
        wanted = Moderation.REJECTED if action == "hide" else Moderation.APPROVED
        if _status(target, item) == wanted:
            ModerationDecision.objects.create(
                target=target,
                object_id=object_id,
                tradesperson_id=_tradesperson_id(item),
                action=action,
                reason=reason,
                moderator=moderator,
            )
            return False
        _apply(target, item, visible=action != "hide", status=wanted, reason=reason, moderator=moderator, action=action)
    return True


def _apply(
    target: str,
    item: Review | TradespersonProfile,
    *,
    visible: bool,
    status: str,
    reason: str,
    moderator: User | None,
    action: str,
) -> None:
    """Store the item's new status, record the decision and emit its events (caller's transaction, row locked)."""
    if isinstance(item, TradespersonProfile):
        item.moderation_status, item.moderation_flags = status, reason[:200]
        item.save(update_fields=["moderation_status", "moderation_flags"])
    elif target == Target.REPLY:
        was_public = item.reply_status == Moderation.APPROVED
        item.reply_status = status
        item.save(update_fields=["reply_status"])
        if visible and not was_public and item.replied_at is not None:
            emit_reply_public(item, actor_id=moderator.pk if moderator else None)
    else:
        set_review_visibility(item, hidden=not visible, status=status, reason=reason, moderator=moderator)
    tradesperson_id = _tradesperson_id(item)
    object_id = tradesperson_id if isinstance(item, TradespersonProfile) else item.pk
    decision = ModerationDecision.objects.create(
        target=target, object_id=object_id, tradesperson_id=tradesperson_id, action=action, reason=reason, moderator=moderator
    )
    emit(
        ev.CONTENT_RESTORED if visible else ev.CONTENT_HIDDEN,
        aggregate_id=tradesperson_id,
        data=ev.ContentModeratedV1(
            target=target,  # type: ignore[typeddict-item]  # one of Target's values, checked by _lock
            object_id=object_id,
            tradesperson_id=tradesperson_id,
            action=action,  # type: ignore[typeddict-item]  # approve/hide/restore/auto_hide, from the callers above
            reason=reason,
            moderator_id=moderator.pk if moderator else None,
            at=decision.created_at.isoformat(),
        ),
        actor_id=moderator.pk if moderator else None,
    )
