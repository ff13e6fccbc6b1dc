"""Trade questions: which ones a job form asks, whether a conditional one is shown, and what a valid answer is.

Staff define the questions per trade in admin (``TradeQuestion`` with its ``QuestionChoice`` rows).
``clean_answers`` turns what a customer sent ({question key: value}) into the answers a job stores
and ``job.posted`` carries: in question order, with the label and the answer's words frozen, so
a question reworded later does not change what an old job says.  A refusal is a ``ServiceError``
whose ``field`` is ``answers.<key>``, so the API and the form name the question it is about.

Tradespeople may decline answers ("heating_fuel=oil"): :func:`answer_tokens` is what a job's
answers offer to that test (matching compares them with ``TradespersonProfile.declined_answers``).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import connection

from marketplace.errors import Refusal, ServiceError
from marketplace.masking import mask

from .events import JobAnswer
from .models import QuestionChoice, Trade, TradeQuestion

Kind = TradeQuestion.Kind
YES_NO = {"yes": "Yes", "no": "No"}
# Kinds whose answers are picked from a list: only those can be declined by a tradesperson.
PICKED = (Kind.CHOICE, Kind.MULTIPLE, Kind.YES_NO)

log = logging.getLogger(__name__)

# Every job post reads its trade's questions, and staff change them now and then: each process keeps
# them, under a version held in the shared cache.  A saved or deleted question or choice sets a new
# version once its transaction has committed (``questions_changed``, from ``receivers``); a read
# compares versions (one Redis GET) and goes back to the database when they differ.  Nothing read
# inside a transaction is kept (it may yet roll back), nor anything while the cache is unreachable, and
# nothing is kept longer than KEEP_S (a change whose new version could not be written still shows).
VERSION_KEY = "jobs:trade-questions:version"
KEEP_S = 300.0
_kept: dict[int, tuple[str, float, list[TradeQuestion]]] = {}


def questions_for(trade: Trade | int | None) -> list[TradeQuestion]:
    """The trade's questions in the order they are asked, with their choices (none to two queries; see above).

    The question objects may be shared with other callers in this process: read them, never change them.
    """
    if trade is None:
        return []
    trade_id = trade.pk if isinstance(trade, Trade) else trade
    version = _version()
    kept = _kept.get(trade_id)
    if kept is not None and version is not None and kept[0] == version and time.monotonic() - kept[1] < KEEP_S:
        return list(kept[2])
    query = TradeQuestion.objects.filter(trade_id=trade_id).select_related("show_if_question").prefetch_related("choices")
    found = list(query.order_by("position", "pk"))
    if version is not None and not connection.in_atomic_block:
        _kept[trade_id] = (version, time.monotonic(), found)
    return list(found)


def _version() -> str | None:
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(VERSION_KEY)
    except Exception:  # an unreachable cache only costs the two queries
        log.warning("trade questions: the cache is unreachable; reading them from the database", exc_info=True)
        return None
    return str(version) if version is not None else None


def questions_changed() -> None:
    """Every process reads the trades' questions afresh (call after the change has committed)."""
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # logged; what the processes keep expires within KEEP_S
        log.error("trade questions: could not tell other processes about a change", exc_info=True)


def options(question: TradeQuestion) -> list[tuple[str, str]]:
    """(value, label) of the answers a picked question offers."""
    if question.kind == Kind.YES_NO:
        return list(YES_NO.items())
    choices: Iterable[QuestionChoice] = question.choices.all()
    return [(choice.value, choice.label) for choice in choices]


def _refuse(question: TradeQuestion, message: str) -> ServiceError:
    return ServiceError(message, code="bad_answer", kind=Refusal.INVALID, field=f"answers.{question.key}")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def _yes_no(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    return {"yes": "yes", "true": "yes", "1": "yes", "no": "no", "false": "no", "0": "no"}.get(text)


def is_shown(question: TradeQuestion, given: Mapping[str, JobAnswer]) -> bool:
    """Whether the question is asked, given the answers (so far) to the questions before it.

    A conditional question is asked when the question it depends on was asked and answered with
    ``show_if_value`` (one of the picks, for several choices).
    """
    if question.show_if_question_id is None:
        return True
    parent = question.show_if_question
    answer = given.get(parent.key) if parent is not None else None
    if answer is None:
        return False
    value = answer["value"]
    return question.show_if_value in value if isinstance(value, list) else value == question.show_if_value


@dataclass(frozen=True)
class CleanAnswers:
    """Valid answers, and the photos still to be stored as ``JobPhoto`` (their answer's ``photo_id`` is filled then)."""

    answers: list[JobAnswer]
    photos: dict[str, UploadedFile]


def clean_answers(*, trade: Trade, raw: Mapping[str, Any], photos: Mapping[str, UploadedFile] | None = None) -> CleanAnswers:
    """Check the answers to ``trade``'s questions and freeze them for the job.

    ``raw``: {question key: value}; a value is a string (a choice's value, a number, yes/no, text),
    a list of choice values (several choices) or a bool (yes/no). ``photos``: {question key: file}
    for photo questions.  Answers to questions that are not asked (unknown keys, or a condition
    not met) are dropped, not refused: a form may still hold them after the customer changed
    their mind.  Raises ``ServiceError`` (code ``bad_answer``, field ``answers.<key>``) for the
    first question answered wrongly or left unanswered while required.
    """
    photos = photos or {}
    given: dict[str, JobAnswer] = {}
    kept_photos: dict[str, UploadedFile] = {}
    for question in questions_for(trade):
        if not is_shown(question, given):
            continue
        if question.kind == Kind.PHOTO:
            upload = photos.get(question.key)
            if upload is None:
                if question.required:
                    raise _refuse(question, f"Add a photo for “{question.label}”.")
                continue
            kept_photos[question.key] = upload
            given[question.key] = JobAnswer(key=question.key, label=question.label, kind=question.kind, value="", text="Photo")
            continue
        value = raw.get(question.key)
        if _blank(value):
            if question.required:
                raise _refuse(question, f"Please answer “{question.label}”.")
            continue
        given[question.key] = _answer(question, value)
    return CleanAnswers(answers=list(given.values()), photos=kept_photos)


def _answer(question: TradeQuestion, value: Any) -> JobAnswer:
    def answer(value: str | list[str], text: str) -> JobAnswer:
        return JobAnswer(key=question.key, label=question.label, kind=question.kind, value=value, text=text)

    if question.kind == Kind.CHOICE:
        labels = dict(options(question))
        if not isinstance(value, str) or value not in labels:
            raise _refuse(question, f"Choose one of the answers to “{question.label}”.")
        return answer(value, labels[value])
    if question.kind == Kind.MULTIPLE:
        labels = dict(options(question))
        picked = [value] if isinstance(value, str) else value
        if not isinstance(picked, list) or not all(isinstance(v, str) and v in labels for v in picked):
            raise _refuse(question, f"Choose from the answers to “{question.label}”.")
        ordered = [v for v in labels if v in picked]  # the question's order, each once
        return answer(ordered, ", ".join(labels[v] for v in ordered))
    if question.kind == Kind.YES_NO:
        yes_no = _yes_no(value)
        if yes_no is None:
            raise _refuse(question, f"Answer “{question.label}” with yes or no.")
        return answer(yes_no, YES_NO[yes_no])
    if question.kind == Kind.NUMBER:
        return _number(question, value)
    text = str(value).strip()
    limit = settings.JOBS["ANSWER_TEXT_MAX_CHARS"]
    if len(text) > limit:
        raise _refuse(question, f"Keep the answer to “{question.label}” to {limit} characters.")
    text = mask(text)  # tradespeople read it: no contact details (nor card numbers)
    return answer(text, text)


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def _number(question: TradeQuestion, value: Any) -> JobAnswer:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if isinstance(value, bool) or not number.is_finite():
        raise _refuse(question, f"Answer “{question.label}” with a number.")
    low, high = question.min_value, question.max_value
    if low is not None and high is not None and not low <= number <= high:
        raise _refuse(question, f"Answer “{question.label}” with a number from {_plain(low)} to {_plain(high)}.")
    if low is not None and number < low:
        raise _refuse(question, f"Answer “{question.label}” with a number of at least {_plain(low)}.")
    if high is not None and number > high:
        raise _refuse(question, f"Answer “{question.label}” with a number of at most {_plain(high)}.")
    return JobAnswer(key=question.key, label=question.label, kind=question.kind, value=_plain(number), text=_plain(number))


def answer_tokens(answers: Sequence[JobAnswer]) -> list[str]:
    """The picked answers as "key=value" strings, the form a tradesperson's declined answers take."""
    tokens: list[str] = []
    for item in answers:
        if item.get("kind") not in PICKED:
            continue
        value = item["value"]
        tokens.extend(f"{item['key']}={v}" for v in (value if isinstance(value, list) else [value]))
    return tokens


def declines(declined: Iterable[str], answers: Sequence[JobAnswer]) -> bool:
    """Whether a business that declines these answers would turn this job down."""
    return not set(declined).isdisjoint(answer_tokens(answers))


def declinable_answers(trades: Iterable[Trade] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a tradesperson may decline, grouped for a form: [(trade: question, [("key=value", answer)])]."""
    questions = TradeQuestion.objects.filter(kind__in=PICKED).select_related("trade").prefetch_related("choices")
    if trades is not None:
        questions = questions.filter(trade__in=list(trades))
    return [
        (f"{q.trade.name}: {q.label}", [(f"{q.key}={value}", label) for value, label in options(q)])
        for q in questions.order_by("trade__name", "position", "pk")
    ]


# --- the questions every trade starts with ---------------------------------------------------

DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "data" / "questions.json"


def seed_questions(trade_model: Any = Trade, question_model: Any = TradeQuestion, choice_model: Any = QuestionChoice) -> int:
    """Give each trade in ``data/questions.json`` that has no questions yet its default questions; how many were added.

    Takes the model classes so a data migration can pass its historical ones (``apps.get_model``);
    the demo seed calls it with the defaults.  Trades that already have questions are left as staff made them.
    """
    added = 0
    for slug, specs in json.loads(DEFAULT_QUESTIONS.read_text()).items():
        trade = trade_model.objects.filter(slug=slug).first()
        if trade is None or question_model.objects.filter(trade=trade).exists():
            continue
        by_key: dict[str, Any] = {}
        for position, spec in enumerate(specs, start=1):
            parent_key, parent_value = spec.get("show_if", ("", ""))
            question = question_model.objects.create(
                trade=trade,
                key=spec["key"],
                position=position * 10,
                kind=spec["kind"],
                label=spec["label"],
                help=spec.get("help", ""),
                required=spec.get("required", True),
                min_value=Decimal(spec["min"]) if "min" in spec else None,
                max_value=Decimal(spec["max"]) if "max" in spec else None,
                show_if_question=by_key.get(parent_key),
                show_if_value=parent_value,
            )
            choice_model.objects.bulk_create(
                [
                    choice_model(question=question, value=value, label=label, position=index)
                    for index, (value, label) in enumerate(spec.get("choices", []), start=1)
                ]
            )
            by_key[question.key] = question
            added += 1
    return added
