"""Job API: validation errors have one JSON shape, nothing is half-written, keys make retries safe."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from jobs import services
from jobs.models import Job
from marketplace.events.models import OutboxEvent
from tests.factories import TradeFactory

pytestmark = pytest.mark.django_db

VALID = {"trade": "plumbing", "title": "Leaky tap", "description": "Drips", "latitude": "51.5", "longitude": "-0.12", "budget_max": "100"}


@pytest.fixture
def api(customer) -> APIClient:
    TradeFactory()
    client = APIClient()
    client.force_authenticate(customer)
    return client


def test_posting_a_job_commits_the_job_and_its_event(api) -> None:
    response = api.post("/api/jobs/", VALID, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "open"
    assert OutboxEvent.objects.get().envelope["data"]["job_id"] == response.json()["id"]


def test_a_double_clicked_submit_with_one_idempotency_key_creates_one_job(api) -> None:
    first = api.post("/api/jobs/", VALID, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/jobs/", VALID, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Job.objects.count() == 1 and OutboxEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latitude": "91"}, "latitude"),
        ({"longitude": "not-a-number"}, "longitude"),
        ({"title": ""}, "title"),
        ({"description": "x" * 100_000}, "description"),
        ({"trade": "astrology"}, "trade"),
        ({"budget_min": "500", "budget_max": "100"}, "budget_max"),
        ({"budget_max": "-1"}, "budget_max"),
    ],
)
def test_bad_input_gets_a_stable_json_error_and_writes_nothing(api, change, field) -> None:
    response = api.post("/api/jobs/", {**VALID, **change}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"]
    assert not Job.objects.exists() and not OutboxEvent.objects.exists()


def test_script_tags_are_stored_as_text_and_returned_escaped_by_json(api) -> None:
    response = api.post("/api/jobs/", {**VALID, "title": "<script>alert(1)</script>"}, format="json")
    assert response.status_code == 201
    assert response.json()["title"] == "<script>alert(1)</script>"  # data, never markup; pages escape it


def test_anonymous_requests_are_refused(db) -> None:
    response = APIClient().post("/api/jobs/", VALID, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_tradespeople_cannot_post_jobs(tradesperson) -> None:
    TradeFactory()
    client = APIClient()
    client.force_authenticate(tradesperson)
    response = client.post("/api/jobs/", VALID, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_customer"


def test_a_customer_cannot_see_or_cancel_another_customers_job(api, other_customer) -> None:
    job_id = api.post("/api/jobs/", VALID, format="json").json()["id"]
    intruder = APIClient()
    intruder.force_authenticate(other_customer)
    assert intruder.get(f"/api/jobs/{job_id}/").status_code == 404
    assert intruder.post(f"/api/jobs/{job_id}/cancel/").status_code == 404
    assert Job.objects.get().status == "open"


def test_cancelling_twice_is_an_illegal_transition(api) -> None:
    job_id = api.post("/api/jobs/", VALID, format="json").json()["id"]
    assert api.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
    response = api.post(f"/api/jobs/{job_id}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "illegal_transition", "message": "A job that is cancelled cannot become cancelled."}
    assert OutboxEvent.objects.count() == 2


def test_a_lost_database_answers_503_json(api, monkeypatch) -> None:
    def unavailable(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(services, "job_post", unavailable)
    response = api.post("/api/jobs/", VALID, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
