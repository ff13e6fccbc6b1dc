"""Every service that stores text another party or the public reads stores it masked (marketplace.masking), one test each."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs import questions, services
from jobs.models import Bid, Job, TradeQuestion, TradespersonProfile
from marketplace.events.models import OutboxEvent
from marketplace.masking import HIDDEN
from quotes.pricing import LineItem
from quotes.services import OptionInput
from reviews.services import review_reply
from tests.factories import offer, place_bid, post_job, pro, trade
from tests.quotes.helpers import quote, submit
from tests.reviews.helpers import completed_job, review

pytestmark = pytest.mark.django_db

PHONE = "0 7 7 0 0 - 9 0 0 - 1 2 3"
EMAIL = "bob at gmail dot com"


def test_job_post_masks_title_and_description(customer):
    job = post_job(customer, title=f"Tap, call {PHONE}", description=f"Mail {EMAIL} or insta @bobs_taps")
    stored = Job.objects.get(pk=job.pk)
    assert stored.title == f"Tap, call {HIDDEN}"
    assert stored.description == f"Mail {HIDDEN} or {HIDDEN}"


def test_job_update_masks_title_and_description(customer):
    job = post_job(customer)
    services.job_update(job=job, actor=customer, title=f"Tap {PHONE}", description="see www.example.co.uk")
    stored = Job.objects.get(pk=job.pk)
    assert (stored.title, stored.description) == (f"Tap {HIDDEN}", f"see {HIDDEN}")


def test_bid_place_and_revise_mask_the_message(customer):
    job = post_job(customer)
    bob = pro("bobmask")
    offer(job, bob)
    bid = services.bid_place(job=job, tradesperson=bob, amount=Decimal("120.00"), message=f"Ring {PHONE}")
    assert Bid.objects.get(pk=bid.pk).message == f"Ring {HIDDEN}"
    services.bid_revise(bid=bid, actor=bob, amount=Decimal("110.00"), message=f"Or {EMAIL}")
    assert Bid.objects.get(pk=bid.pk).message == f"Or {HIDDEN}"


def test_pro_profile_save_masks_the_bio():
    bob = pro("bobbio")
    profile = TradespersonProfile.objects.get(user=bob)
    services.pro_profile_save(
        user=bob,
        business_name="Bob's Taps",
        trades=[trade()],
        base_latitude=profile.base_latitude,
        base_longitude=profile.base_longitude,
        bio=f"20 years of taps. Text {PHONE}",
    )
    assert TradespersonProfile.objects.get(user=bob).bio == f"20 years of taps. Text {HIDDEN}"


def test_quote_notes_titles_and_lines_are_masked(customer):
    job = post_job(customer)
    bob = pro("bobquote")
    offer(job, bob)
    option = OptionInput(lines=[LineItem("labour", f"Labour, call {PHONE}", Decimal(1), Decimal("45.00"))], title=f"Fix {EMAIL}")
    version = submit(job, bob, quote(option, notes=f"Notes: {PHONE}", message=f"Hi {EMAIL}"))
    stored = version.options.get()
    assert version.notes == f"Notes: {HIDDEN}"
    assert stored.title == f"Fix {HIDDEN}"
    assert stored.lines.get().description == f"Labour, call {HIDDEN}"
    assert version.bid.message == f"Hi {HIDDEN}"


def test_review_and_reply_are_masked(customer):
    bob = pro("bobreview")
    job = completed_job(customer, bob)
    posted = review(job, customer, comment=f"Great, reach him on {PHONE}")
    assert posted.comment == f"Great, reach him on {HIDDEN}"
    replied = review_reply(review=posted, actor=bob, reply=f"Thanks! {EMAIL}")
    assert replied.reply == f"Thanks! {HIDDEN}"


def test_a_decline_reason_is_masked(customer):
    job = post_job(customer)
    bob = pro("bobdecline")
    offer(job, bob)
    bid = place_bid(job, bob)
    services.bid_decline(bid=bid, actor=customer, reason=f"Found someone, {PHONE}")
    event = OutboxEvent.objects.filter(event_type="bid.declined", key=str(job.pk)).get()
    assert event.envelope["data"]["reason"] == f"Found someone, {HIDDEN}"  # the reason travels only in the event


def test_a_short_text_answer_to_a_trade_question_is_masked():
    plumbing = trade("masked-answers", "Masked answers")
    TradeQuestion.objects.create(trade=plumbing, key="access_notes", kind=TradeQuestion.Kind.TEXT, label="Access?", position=0)
    answers = questions.clean_answers(trade=plumbing, raw={"access_notes": f"Side gate, ring {PHONE}"}).answers
    assert (answers[0]["value"], answers[0]["text"]) == (f"Side gate, ring {HIDDEN}", f"Side gate, ring {HIDDEN}")
