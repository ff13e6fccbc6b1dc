"""A trade's questions are read once per process and read again once staff change them (jobs/questions.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from jobs import questions
from jobs.models import QuestionChoice, TradeQuestion
from tests.factories import trade

pytestmark = pytest.mark.django_db(transaction=True)  # the kept copy is dropped when a change commits


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    questions._kept.clear()
    yield
    questions._kept.clear()


def keys(found: list[TradeQuestion]) -> list[str]:
    return [q.key for q in found]


def test_questions_are_kept_until_a_question_or_choice_changes(django_assert_num_queries: Any) -> None:
    fuel = trade("kept-heating", "Heating")
    first = TradeQuestion.objects.create(trade=fuel, key="fuel", kind=TradeQuestion.Kind.CHOICE, label="Fuel?", position=1)
    QuestionChoice.objects.create(question=first, value="gas", label="Gas", position=0)
    assert keys(questions.questions_for(fuel)) == ["fuel"]
    with django_assert_num_queries(0):
        again = questions.questions_for(fuel)
        assert keys(again) == ["fuel"]
        assert [c.value for c in again[0].choices.all()] == ["gas"]

    TradeQuestion.objects.create(trade=fuel, key="age", kind=TradeQuestion.Kind.NUMBER, label="Age?", position=2)
    assert keys(questions.questions_for(fuel)) == ["fuel", "age"]

    QuestionChoice.objects.create(question=first, value="oil", label="Oil", position=1)
    assert [c.value for c in questions.questions_for(fuel)[0].choices.all()] == ["gas", "oil"]

    first.delete()
    assert keys(questions.questions_for(fuel)) == ["age"]


def test_nothing_read_inside_a_transaction_is_kept(django_assert_num_queries: Any) -> None:
    plumbing = trade("kept-plumbing", "Plumbing")
    TradeQuestion.objects.create(trade=plumbing, key="leak", kind=TradeQuestion.Kind.YES_NO, label="Leaking?", position=1)
    with transaction.atomic():
        TradeQuestion.objects.create(trade=plumbing, key="rolled_back", kind=TradeQuestion.Kind.TEXT, label="Gone?", position=2)
        assert keys(questions.questions_for(plumbing)) == ["leak", "rolled_back"]
        transaction.set_rollback(True)
    assert keys(questions.questions_for(plumbing)) == ["leak"]


def test_a_lost_version_reads_the_database_again(django_assert_num_queries: Any) -> None:
    from django.core.cache import cache

    drains = trade("kept-drains", "Drains")
    TradeQuestion.objects.create(trade=drains, key="blocked", kind=TradeQuestion.Kind.YES_NO, label="Blocked?", position=1)
    questions.questions_for(drains)
    cache.delete(questions.VERSION_KEY)  # Redis restarted empty: a change may have been missed
    with django_assert_num_queries(2):  # the questions and their choices, from the database again
        assert keys(questions.questions_for(drains)) == ["blocked"]
