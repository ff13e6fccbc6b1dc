"""Trade questions on the pages and in the API: the job form asks them (and swaps them per trade), refusals sit next
to the question, the answers show on the job, the lead and the board, and a business declines answers on its profile."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from jobs.models import Job, JobBoardEntry, JobPhoto, Lead, Trade, TradeQuestion, TradespersonProfile
from marketplace.accounts.models import User
from tests.jobs.test_questions import ask

from .conftest import png
from .test_job_pages import job_form

pytestmark = pytest.mark.django_db
Kind = TradeQuestion.Kind


@pytest.fixture
def asked(trade: Trade) -> Trade:
    """The fixture trade asks what needs doing and, for installs, which fixture; and an optional photo."""
    work = ask(trade, "plumbing_work", Kind.CHOICE, choices=("leak", "install"), position=1)
    ask(trade, "plumbing_fixture", Kind.CHOICE, choices=("tap", "toilet"), position=2, show_if_question=work, show_if_value="install")
    ask(trade, "plumbing_photo", Kind.PHOTO, position=3, required=False)
    return trade


def test_the_form_asks_the_chosen_trade_s_questions_and_hides_conditional_ones(client: Client, customer: User, asked: Trade) -> None:
    client.force_login(customer)
    assert "q_plumbing_work" not in client.get("/jobs/new/").context["form"].fields  # no trade chosen yet
    fragment = client.get(f"/jobs/new/questions/?trade={asked.slug}")
    html = fragment.content.decode()
    assert 'name="q_plumbing_work"' in html and 'data-show-if="plumbing_work" data-show-value="install" hidden' in html
    assert client.get("/jobs/new/questions/?trade=nonesuch").content.strip() == b""


def test_an_unanswered_question_is_refused_next_to_it_and_answers_are_stored(client: Client, customer: User, asked: Trade) -> None:
    client.force_login(customer)
    response = client.post("/jobs/new/", job_form(asked, q_plumbing_work="install"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"q_plumbing_fixture": ["Please answer “Plumbing fixture?”."]}
    assert 'data-show-if="plumbing_work" data-show-value="install">' in response.content.decode()  # shown again, with its error
    answered = job_form(asked, q_plumbing_work="install", q_plumbing_fixture="tap")
    response = client.post("/jobs/new/", {**answered, "q_plumbing_photo": png()})
    job = Job.objects.get()
    assert response.status_code == 302
    assert [(a["key"], a["text"]) for a in job.answers] == [
        ("plumbing_work", "Install"),
        ("plumbing_fixture", "Tap"),
        ("plumbing_photo", "Photo"),
    ]
    assert job.answers[2]["photo_id"] == JobPhoto.objects.get(job=job).pk
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Plumbing fixture?</dt><dd>Tap</dd>" in page and "See the photo" in page


def test_the_lead_and_the_board_show_the_answers(client: Client, lead: Lead, tradesperson: User) -> None:
    Job.objects.filter(pk=lead.job_id).update(
        answers=[{"key": "plumbing_work", "label": "What needs doing?", "kind": "choice", "value": "leak", "text": "Fix a leak"}]
    )
    JobBoardEntry.objects.create(
        job_id=lead.job_id,
        customer_id=lead.job.customer_id,
        trade_slug="plumbing",
        trade_name="Plumbing",
        title="Leak",
        description="-",
        latitude=51.5,
        longitude=-0.1,
        budget_min=Decimal(0),
        budget_max=Decimal(100),
        is_emergency=False,
        status="open",
        posted_at=lead.offered_at,
        last_sequence=1,
        answers=[{"key": "plumbing_work", "label": "What needs doing?", "kind": "choice", "value": "leak", "text": "Fix a leak"}],
    )
    client.force_login(tradesperson)
    assert "What needs doing?</dt><dd>Fix a leak</dd>" in client.get(f"/leads/{lead.job_id}/").content.decode()
    assert '<span class="muted">What needs doing? </span><strong>Fix a leak</strong>' in client.get("/board/").content.decode()
    card = client.get("/api/board/").json()["results"][0]
    assert card["answers"] == [{"label": "What needs doing?", "text": "Fix a leak"}]


def test_a_business_declines_answers_of_its_trades_on_its_profile(client: Client, profile: TradespersonProfile, asked: Trade) -> None:
    client.force_login(profile.user)
    page = client.get("/profile/")
    assert [group for group, _ in page.context["form"].declined_groups] == ["Plumbing: Plumbing work?", "Plumbing: Plumbing fixture?"]
    data = {
        "business_name": "Fixers",
        "trades": [asked.pk],
        "place": "Highbury N5",
        "service_radius_km": "15",
        "is_accepting_leads": "on",
        "declined_answers": ["plumbing_fixture=toilet"],
    }
    assert client.post("/profile/", data).status_code == 302
    profile.refresh_from_db()
    assert profile.declined_answers == ["plumbing_fixture=toilet"]
    assert 'value="plumbing_fixture=toilet" id="id_declined_answers_3" checked' in client.get("/profile/").content.decode()


def test_the_api_lists_questions_and_takes_answers(client: Client, customer: User, asked: Trade) -> None:
    trades = client.get("/api/trades/").json()
    questions = trades[0]["questions"]
    assert [q["key"] for q in questions] == ["plumbing_work", "plumbing_fixture", "plumbing_photo"]
    assert (questions[1]["show_if_question"], questions[1]["show_if_value"]) == ("plumbing_work", "install")
    client.force_login(customer)
    body = {"trade": asked.slug, "title": "Tap", "description": "New tap", "place": "Highbury N5"}
    refused = client.post("/api/jobs/", {**body, "answers": {"plumbing_work": "install"}}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "bad_answer",
        "message": "Please answer “Plumbing fixture?”.",
        "fields": {"answers.plumbing_fixture": ["Please answer “Plumbing fixture?”."]},
    }
    answers = {"plumbing_work": "install", "plumbing_fixture": "toilet"}
    posted = client.post("/api/jobs/", {**body, "answers": answers}, content_type="application/json")
    assert posted.status_code == 201
    assert [a["value"] for a in posted.json()["answers"]] == ["install", "toilet"]
    # multipart: the answers as a JSON string, a photo answer as its own file field.
    multipart = {**body, "answers": '{"plumbing_work": "leak"}', "answer_photo.plumbing_photo": png()}
    posted = client.post("/api/jobs/", multipart)
    assert posted.status_code == 201, posted.json()
    assert [a["kind"] for a in posted.json()["answers"]] == ["choice", "photo"]


def test_a_business_declines_answers_through_the_api(client: Client, profile: TradespersonProfile, asked: Trade) -> None:
    client.force_login(profile.user)
    body = {"business_name": "Fixers", "trades": [asked.slug], "base_place": "Highbury N5", "declined_answers": ["plumbing_work=leak"]}
    response = client.put("/api/profile/", body, content_type="application/json")
    assert response.status_code == 200 and response.json()["declined_answers"] == ["plumbing_work=leak"]
    del body["declined_answers"]  # not sent: left as it is
    assert client.put("/api/profile/", body, content_type="application/json").json()["declined_answers"] == ["plumbing_work=leak"]
    refused = client.put("/api/profile/", {**body, "declined_answers": ["plumbing_work=flood"]}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_declined_answer"


def test_staff_edit_a_trade_s_questions_in_admin(admin_client: Client, asked: Trade) -> None:
    page = admin_client.get(f"/admin/jobs/trade/{asked.pk}/change/").content.decode()
    assert "Questions the job form asks" in page and 'value="Plumbing fixture?"' in page
    question = TradeQuestion.objects.get(key="plumbing_fixture")
    page = admin_client.get(f"/admin/jobs/tradequestion/{question.pk}/change/").content.decode()
    assert "Only when question" in page and "Choices (for one choice and several choices)" in page
