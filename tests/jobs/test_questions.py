"""Trade questions: checking answers and conditions, storing them on the job and in job.posted v3, and matching
skipping tradespeople who decline an answer."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from jobs import questions, services
from jobs.events import JOB_POSTED
from jobs.models import Job, JobPhoto, QuestionChoice, Trade, TradeQuestion
from marketplace.errors import ServiceError
from marketplace.events.models import OutboxEvent
from marketplace.events.schemas import validate_data
from matching.selectors import match_candidates
from tests.factories import post_job, pro, trade

Kind = TradeQuestion.Kind


def ask(trade: Trade, key: str, kind: str, *, choices: tuple[str, ...] = (), position: int = 0, **fields: Any) -> TradeQuestion:
    question = TradeQuestion.objects.create(
        trade=trade, key=key, kind=kind, label=key.replace("_", " ").capitalize() + "?", position=position, **fields
    )
    QuestionChoice.objects.bulk_create(
        QuestionChoice(question=question, value=value, label=value.title(), position=i) for i, value in enumerate(choices)
    )
    return question


@pytest.fixture
def heating() -> Trade:
    """Heating with a choice, a number asked only for radiators, a yes/no and an optional multiple choice."""
    hvac = trade("hvac", "Heating")
    work = ask(hvac, "heating_work", Kind.CHOICE, choices=("repair", "radiators"), position=1)
    ask(hvac, "heating_fuel", Kind.CHOICE, choices=("gas", "oil", "electric"), position=2)
    ask(
        hvac,
        "radiator_count",
        Kind.NUMBER,
        position=3,
        min_value=Decimal(1),
        max_value=Decimal(40),
        show_if_question=work,
        show_if_value="radiators",
    )
    ask(hvac, "has_parking", Kind.YES_NO, position=4)
    ask(hvac, "rooms", Kind.MULTIPLE, choices=("kitchen", "bathroom", "loft"), position=5, required=False)
    return hvac


def refusal(trade: Trade, raw: dict[str, Any]) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        questions.clean_answers(trade=trade, raw=raw)
    return caught.value


@pytest.mark.django_db
def test_answers_are_frozen_in_question_order_with_their_words(heating: Trade) -> None:
    raw = {"has_parking": True, "heating_fuel": "oil", "heating_work": "repair", "rooms": ["loft", "kitchen"], "radiator_count": "7"}
    answers = questions.clean_answers(trade=heating, raw=raw).answers
    # The radiator count is not asked for a repair, so its stale value is dropped rather than refused.
    assert [(a["key"], a["value"], a["text"]) for a in answers] == [
        ("heating_work", "repair", "Repair"),
        ("heating_fuel", "oil", "Oil"),
        ("has_parking", "yes", "Yes"),
        ("rooms", ["kitchen", "loft"], "Kitchen, Loft"),
    ]
    assert answers[0]["label"] == "Heating work?"


@pytest.mark.django_db
def test_a_conditional_question_is_asked_and_checked_only_when_its_answer_is_given(heating: Trade) -> None:
    base = {"heating_work": "radiators", "heating_fuel": "gas", "has_parking": "no"}
    error = refusal(heating, base)
    assert (error.code, error.field, error.message) == ("bad_answer", "answers.radiator_count", "Please answer “Radiator count?”.")
    error = refusal(heating, {**base, "radiator_count": "41"})
    assert error.message == "Answer “Radiator count?” with a number from 1 to 40."
    assert refusal(heating, {**base, "radiator_count": "lots"}).message == "Answer “Radiator count?” with a number."
    answers = questions.clean_answers(trade=heating, raw={**base, "radiator_count": "12"}).answers
    assert answers[2] == {"key": "radiator_count", "label": "Radiator count?", "kind": "number", "value": "12", "text": "12"}


@pytest.mark.django_db
def test_wrong_answers_are_refused_with_the_question_s_field(heating: Trade) -> None:
    good = {"heating_work": "repair", "heating_fuel": "gas", "has_parking": "yes"}
    assert refusal(heating, {**good, "heating_fuel": "coal"}).field == "answers.heating_fuel"
    assert refusal(heating, {**good, "has_parking": "maybe"}).message == "Answer “Has parking?” with yes or no."
    assert refusal(heating, {**good, "rooms": ["garage"]}).field == "answers.rooms"
    assert refusal(heating, {"heating_work": "repair", "has_parking": "yes"}).field == "answers.heating_fuel"
    # A trade without questions takes no answers and refuses nothing.
    assert questions.clean_answers(trade=trade(), raw={"anything": "x"}).answers == []


@pytest.mark.django_db
def test_admin_refuses_a_condition_on_a_later_question_or_another_trade(heating: Trade) -> None:
    later = TradeQuestion.objects.get(key="has_parking")
    early = TradeQuestion(
        trade=heating, key="early", kind=Kind.TEXT, label="Early?", position=0, show_if_question=later, show_if_value="yes"
    )
    with pytest.raises(ValidationError) as caught:
        early.full_clean()
    assert "show_if_question" in caught.value.message_dict
    elsewhere = TradeQuestion(
        trade=trade(), key="elsewhere", kind=Kind.TEXT, label="?", position=9, show_if_question=later, show_if_value="yes"
    )
    with pytest.raises(ValidationError):
        elsewhere.full_clean()


def _png(name: str = "boiler.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.mark.django_db
def test_job_post_stores_the_answers_and_job_posted_v3_carries_them(customer, heating: Trade) -> None:
    ask(heating, "boiler_photo", Kind.PHOTO, position=6, required=False)
    raw = {"heating_work": "repair", "heating_fuel": "gas", "has_parking": "yes"}
    job = post_job(customer, trade=heating, answers=raw, answer_photos={"boiler_photo": _png()})
    job.refresh_from_db()
    photo = JobPhoto.objects.get(job=job)
    assert [a["key"] for a in job.answers] == ["heating_work", "heating_fuel", "has_parking", "boiler_photo"]
    assert job.answers[-1] == {
        "key": "boiler_photo",
        "label": "Boiler photo?",
        "kind": "photo",
        "value": photo.url,
        "text": "Photo",
        "photo_id": photo.pk,
    }
    envelope = OutboxEvent.objects.get(event_type=JOB_POSTED.name, key=str(job.pk)).envelope
    assert envelope["schema_version"] == 3
    assert envelope["data"]["answers"] == job.answers
    assert envelope["data"]["photo_urls"] == [photo.url]
    validate_data(JOB_POSTED.name, 3, envelope["data"])
    # A v2 consumer still reads it: v3 only adds an optional key.
    validate_data(JOB_POSTED.name, 2, envelope["data"])


@pytest.mark.django_db
def test_job_post_refuses_unanswered_questions_and_posts_nothing(customer, heating: Trade) -> None:
    with pytest.raises(ServiceError) as caught:
        post_job(customer, trade=heating, answers={"heating_work": "repair"})
    assert caught.value.field == "answers.heating_fuel"
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_matching_skips_a_business_that_declines_one_of_the_job_s_answers(customer, heating: Trade) -> None:
    takes_all = pro("bob", trades=[heating])
    no_oil = pro("sara", trades=[heating], declined_answers=["heating_fuel=oil"])
    no_parking = pro("tom", trades=[heating], declined_answers=["has_parking=no"])
    raw = {"heating_work": "repair", "has_parking": "yes"}
    oil = post_job(customer, trade=heating, answers={**raw, "heating_fuel": "oil"})
    gas = post_job(customer, trade=heating, answers={**raw, "heating_fuel": "gas"})
    assert {c.user_id for c in match_candidates(job=oil)} == {takes_all.pk, no_parking.pk}
    assert {c.user_id for c in match_candidates(job=gas)} == {takes_all.pk, no_oil.pk, no_parking.pk}
    # A job without answers (a trade with no questions, or posted before them) goes to everyone.
    plain = Job.objects.get(pk=gas.pk)
    plain.answers = []
    assert {c.user_id for c in match_candidates(job=plain)} == {takes_all.pk, no_oil.pk, no_parking.pk}


@pytest.mark.django_db
def test_a_business_declines_only_answers_that_are_asked(heating: Trade) -> None:
    user = pro("sara", trades=[heating])
    profile = user.pro_profile
    save: dict[str, Any] = {
        "user": user,
        "business_name": "Sara",
        "trades": [heating],
        "base_latitude": profile.base_latitude,
        "base_longitude": profile.base_longitude,
    }
    services.pro_profile_save(**save, declined_answers=["heating_fuel=oil", "has_parking=no", "heating_fuel=oil"])
    profile.refresh_from_db()
    assert profile.declined_answers == ["has_parking=no", "heating_fuel=oil"]
    with pytest.raises(ServiceError) as caught:
        services.pro_profile_save(**save, declined_answers=["heating_fuel=coal"])
    assert (caught.value.code, caught.value.field) == ("bad_declined_answer", "declined_answers")
    # Not given: left as it was (the API and the demo do not edit it).
    services.pro_profile_save(**save)
    profile.refresh_from_db()
    assert profile.declined_answers == ["has_parking=no", "heating_fuel=oil"]


@pytest.mark.django_db
def test_default_questions_are_seeded_once_for_the_trades_that_exist() -> None:
    trade("hvac", "Heating & HVAC")
    added = questions.seed_questions()
    assert added == TradeQuestion.objects.count() > 0
    assert set(TradeQuestion.objects.values_list("trade__slug", flat=True)) == {"hvac"}
    radiators = TradeQuestion.objects.get(key="heating_radiator_count")
    assert (radiators.show_if_question.key, radiators.show_if_value) == ("heating_work", "radiators")  # type: ignore[union-attr]
    assert questions.seed_questions() == 0
