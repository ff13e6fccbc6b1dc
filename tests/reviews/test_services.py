"""Review services: who may review, once per job, stars 1-5, one reply, staff moderation; each step one event on the job's key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jobs.models import Job
from marketplace.accounts.models import User
from marketplace.api_errors import status_for
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from reviews.models import Review
from reviews.selectors import reviews_for_pro, reviews_written_by
from reviews.services import review_moderate, review_reply
from tests.factories import pro
from tests.scheduling.helpers import awarded_job

from .helpers import ASPECTS_4, completed_job, review

pytestmark = pytest.mark.django_db


def events(job: Job, event_type: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=event_type, key=str(job.pk)).order_by("id"))


def refused(code: str, status: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)
    assert (info.value.code, status_for(info.value)) == (code, status), info.value.message
    return info.value


def test_the_customer_reviews_the_tradesperson_once_after_completion(customer: User, other_customer: User) -> None:
    bob = pro("bob")
    job = completed_job(customer, bob)
    posted = review(job, customer, rating=5, aspects={"punctuality": 3, "quality": 5, "value": 4, "communication": 5}, comment=" Great ")
    assert (posted.tradesperson_id, posted.rating, posted.quality, posted.comment) == (bob.pk, 5, 5, "Great")
    [event] = events(job, "review.posted")
    assert event.topic == "marketplace.jobs" and event.envelope["aggregate_type"] == "job"
    data = event.envelope["data"]
    assert data["tradesperson_id"] == bob.pk and data["aspects"]["punctuality"] == 3 and data["hidden"] is False

    refused("already_reviewed", 409, review, job, customer)
    refused("not_your_job", 403, review, job, other_customer)
    refused("not_your_job", 403, review, job, bob)
    assert Review.objects.count() == 1 and len(events(job, "review.posted")) == 1
    assert list(reviews_written_by(customer)) == [posted] and list(reviews_for_pro(bob)) == [posted]


@pytest.mark.parametrize("step", ["awarded", "in_progress"])
def test_a_job_that_is_not_completed_cannot_be_reviewed(customer: User, step: str) -> None:
    bob = pro("bob")
    job = awarded_job(customer, bob)
    if step == "in_progress":
        from jobs.services import job_start_work

        job_start_work(job=job, actor=bob)
    error = refused("job_not_completed", 409, review, job, customer)
    assert "once the job is completed" in str(error.message)
    assert not Review.objects.exists() and not events(job, "review.posted")


@pytest.mark.parametrize(
    ("rating", "aspects", "needle"),
    [
        (0, ASPECTS_4, "overall rating"),
        (6, ASPECTS_4, "overall rating"),
        (4, {**ASPECTS_4, "quality": 7}, "quality rating"),
        (4, {"punctuality": 4, "quality": 4, "value": 4}, "communication rating"),
        (True, ASPECTS_4, "overall rating"),
    ],
)
def test_stars_outside_1_to_5_are_refused(customer: User, rating: object, aspects: dict[str, int], needle: str) -> None:
    job = completed_job(customer, pro("bob"))
    error = refused("rating_out_of_range", 400, review, job, customer, rating=rating, aspects=aspects)
    assert needle in str(error.message) and "1 to 5" in str(error.message)
    assert not Review.objects.exists()


def test_the_tradesperson_replies_once(customer: User) -> None:
    bob, zed = pro("bob"), pro("zed")
    job = completed_job(customer, bob)
    posted = review(job, customer)
    refused("not_your_review", 403, review_reply, review=posted, actor=zed, reply="Thanks!")
    refused("not_your_review", 403, review_reply, review=posted, actor=customer, reply="Me too")
    refused("reply_required", 400, review_reply, review=posted, actor=bob, reply="   ")
    replied = review_reply(review=posted, actor=bob, reply="Thanks, a pleasure.")
    assert replied.reply == "Thanks, a pleasure." and replied.replied_at is not None
    refused("already_replied", 409, review_reply, review=posted, actor=bob, reply="Again")
    [event] = events(job, "review.replied")
    assert event.envelope["data"]["reply"] == "Thanks, a pleasure." and event.key == str(job.pk)


def test_staff_hide_and_restore_with_a_reason_and_repeats_change_nothing(customer: User) -> None:
    bob = pro("bob")
    staff = User.objects.create_user("mod", password="x", is_staff=True)
    posted = review(completed_job(customer, bob), customer, rating=1)
    refused("forbidden", 403, review_moderate, review=posted, moderator=customer, hide=True, reason="spam")
    refused("reason_required", 400, review_moderate, review=posted, moderator=staff, hide=True, reason=" ")
    hidden = review_moderate(review=posted, moderator=staff, hide=True, reason="Abusive language")
    assert hidden.is_hidden and hidden.moderation_reason == "Abusive language" and hidden.moderated_by == staff
    assert list(reviews_for_pro(bob)) == [] and list(reviews_for_pro(bob, include_hidden=True)) == [hidden]
    review_moderate(review=posted, moderator=staff, hide=True, reason="again")  # already hidden: nothing
    restored = review_moderate(review=posted, moderator=staff, hide=False, reason="Appeal upheld")
    assert not restored.is_hidden
    moderated = [e.envelope["data"] for e in events(posted.job, "review.moderated")]
    steps = [(d["hidden"], d["reason"], d["moderator_id"]) for d in moderated]
    assert steps == [(True, "Abusive language", staff.pk), (False, "Appeal upheld", staff.pk)]
    assert moderated[0]["rating"] == 1 and moderated[0]["aspects"] == ASPECTS_4
